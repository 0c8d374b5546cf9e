/*
 * agentos.hpp — C++17 bindings over agentos.h, header-only.
 *
 * The C ABI stays the contract; this header only makes it idiomatic:
 *   - aos::context wraps the syscalls; arguments are std::string_view, and a
 *     failed syscall throws aos::error (the status and last_error's reason).
 *   - aos::buffer owns a buffer the kernel allocated and releases it exactly
 *     once (RAII, move-only).
 *   - aos::agent_descriptor<T>() makes the descriptor of an agent class T:
 *     T(aos::context, std::string_view config) is init, T::on_message is
 *     on_message, ~T is stop. A T with `std::string save()` and
 *     `void restore(std::string_view)` hands its state across a hot reload
 *     (ABI 1.12's save and restore; the bytes are T's own format, so put a
 *     version in them). Every entry is noexcept: an exception is caught
 *     at the boundary, logged, and returned as a status (aos::error's own,
 *     else AOS_EHANDLER), so none ever crosses the ABI.
 *
 *   struct greeter {
 *       aos::context ctx;
 *       greeter(aos::context c, std::string_view) : ctx(c) {}
 *       void on_message(const aos::message &m) {
 *           if (m.is_request()) ctx.reply(m, "hello, " + std::string(m.from));
 *       }
 *   };
 *   extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
 *   const aos_plugin_descriptor aos_plugin =
 *       aos::agent_descriptor<greeter>("greeter", "1.0.0", "Greets whoever asks.");
 *
 *   - aos::tool(...) and aos::tool_descriptor(...) make a tool plugin's
 *     table and descriptor; aos::tool_options{thread_safe, needs_approval}
 *     sets its flags (needs_approval: AOS_TOOL_NEEDS_APPROVAL, ABI 1.11).
 *
 * Thread: as agentos.h says of each syscall. Compiles clean as C++17 with
 * -Wall -Wextra -pedantic.
 */
#ifndef AGENTOS_HPP
#define AGENTOS_HPP

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "agentos.h"

namespace aos {

/** A failed syscall, or a failure a plugin reports: a status and a reason. */
class error : public std::runtime_error {
public:
    error(aos_status status, const std::string &reason)
        : std::runtime_error(std::string(aos_status_name(status)) + " (" + aos_status_message(status) + ")" +
                             (reason.empty() ? "" : ": " + reason)),
          status_(status) {}
    /** The status this error crosses the ABI as. */
    aos_status status() const noexcept { return status_; }

private:
    aos_status status_;
};

/** A buffer the kernel allocated for the plugin; released once, when this goes. Move-only. */
class buffer {
public:
    buffer(aos_ctx *ctx, const aos_kernel_api *api) noexcept : ctx_(ctx), api_(api) {}
    buffer(buffer &&other) noexcept : ctx_(other.ctx_), api_(other.api_), raw_(std::exchange(other.raw_, aos_buffer{})) {}
    buffer &operator=(buffer &&other) noexcept {
        if (this != &other) {
            reset();
            ctx_ = other.ctx_;
            api_ = other.api_;
            raw_ = std::exchange(other.raw_, aos_buffer{});
        }
        return *this;
    }
    buffer(const buffer &) = delete;
    buffer &operator=(const buffer &) = delete;
    ~buffer() { reset(); }

    /** The bytes, valid while this buffer lives. */
    std::string_view view() const noexcept { return {reinterpret_cast<const char *>(raw_.ptr), raw_.len}; }
    std::string str() const { return std::string(view()); }
    /** For a syscall to fill (released first if it held anything). */
    aos_buffer *out() noexcept {
        reset();
        return &raw_;
    }

private:
    void reset() noexcept {
        if (raw_.ptr != nullptr) api_->release(ctx_, &raw_);
    }
    aos_ctx *ctx_;
    const aos_kernel_api *api_;
    aos_buffer raw_{};
};

/** A message, lent by the kernel for the duration of on_message: copy what you keep. */
class message {
public:
    explicit message(const aos_message &raw) noexcept : raw_(raw) {}
    std::uint64_t id() const noexcept { return raw_.id; }
    std::string_view from() const noexcept { return raw_.from != nullptr ? raw_.from : ""; }
    std::string_view body() const noexcept { return {reinterpret_cast<const char *>(raw_.body.ptr), raw_.body.len}; }
    /** The sender waits for context::reply. */
    bool is_request() const noexcept { return (raw_.flags & AOS_MSG_REQUEST) != 0; }
    /** Since ABI 1.10: the session the sender named (set it as aos_infer_request::session), or "" for none. */
    std::string_view session() const noexcept {
        return raw_.struct_size > offsetof(aos_message, session) && raw_.session != nullptr ? raw_.session : "";
    }
    const aos_message &raw() const noexcept { return raw_; }

private:
    const aos_message &raw_;
};

/** An instance's handle on the kernel: the syscalls of agentos.h as methods. Cheap to copy. */
class context {
public:
    context(aos_ctx *ctx, const aos_kernel_api *api) noexcept : ctx_(ctx), api_(api) {}

    /** send: queue `body` for `to`; wait up to `timeout_ms` for room (0: never). */
    void send(std::string_view to, std::string_view body, std::uint32_t timeout_ms = 0) const {
        check(api_->send(ctx_, std::string(to).c_str(), bytes(body), timeout_ms));
    }

    /** call: a request to `to`; returns the reply, owned. */
    buffer call(std::string_view to, std::string_view body, std::uint32_t timeout_ms = 30000) const {
        buffer reply(ctx_, api_);
        check(api_->call(ctx_, std::string(to).c_str(), bytes(body), timeout_ms, reply.out()));
        return reply;
    }

    /** reply: answer `request` (once). */
    void reply(const message &request, std::string_view body) const {
        check(api_->reply(ctx_, request.id(), bytes(body)));
    }

    /** log: one line in the instance's log; never fails. Thread: any. */
    void log(std::uint32_t level, std::string_view text) const noexcept {
        try {
            api_->log(ctx_, level, std::string(text).c_str());
        } catch (...) { /* std::bad_alloc: the line is lost, nothing crosses the ABI */
        }
    }

    /** now: a clock in nanoseconds (AOS_CLOCK_REALTIME or AOS_CLOCK_MONOTONIC). Thread: any. */
    std::uint64_t now(std::uint32_t clock = AOS_CLOCK_REALTIME) const {
        std::uint64_t ns = 0;
        check(api_->now(ctx_, clock, &ns));
        return ns;
    }

    /** self: this instance's id, name and limits (`name` lives until stop). Thread: any. */
    aos_self_info self() const {
        aos_self_info info{};
        info.struct_size = sizeof info;
        check(api_->self(ctx_, &info));
        return info;
    }

    /** infer: a completion; the result's text is owned by the returned buffer. */
    buffer infer(const aos_infer_request &request, aos_infer_result *result = nullptr) const {
        require(AOS_API_HAS(api_, infer), "infer", 1);
        aos_infer_result local{};
        aos_infer_result &out = result != nullptr ? *result : local;
        out.struct_size = sizeof out;
        aos_status status = api_->infer(ctx_, &request, &out);
        buffer text(ctx_, api_), trace(ctx_, api_);
        *text.out() = out.text; /* owned from here, whatever happens next */
        *trace.out() = out.trace;
        out.text = aos_buffer{};
        out.trace = aos_buffer{};
        check(status);
        return text;
    }

    /** tool_call: call "INSTANCE.TOOL" with a JSON object; returns the result's JSON. A tool's
     *  own failure throws aos::error(AOS_ETOOL, its message). */
    buffer tool_call(std::string_view tool, std::string_view args_json = "{}", std::uint32_t timeout_ms = 30000) const {
        require(AOS_API_HAS(api_, tool_call), "tool_call", 2);
        buffer result(ctx_, api_);
        aos_status status = api_->tool_call(ctx_, std::string(tool).c_str(), std::string(args_json).c_str(), timeout_ms, result.out());
        if (status == AOS_ETOOL) throw error(status, result.str());
        check(status);
        return result;
    }

    /** A stored value and its version (kv_get). */
    struct kv_entry {
        std::string value;
        std::uint64_t version;
    };

    /** kv_get: `key` in namespace `ns` (empty: this instance's own); nothing when absent. */
    std::optional<kv_entry> kv_get(std::string_view key, std::string_view ns = {}) const {
        require(AOS_API_HAS(api_, kv_get), "kv_get", 7);
        buffer value(ctx_, api_);
        std::uint64_t version = 0;
        std::string name(ns);
        aos_status status =
            api_->kv_get(ctx_, name.empty() ? nullptr : name.c_str(), std::string(key).c_str(), value.out(), &version);
        if (status == AOS_ENOTFOUND) return std::nullopt;
        check(status);
        return kv_entry{value.str(), version};
    }

    /** kv_put: store `value` at `key` when it is at `expected` (AOS_KV_ANY_VERSION: any; 0: absent);
     *  returns the new version. A lost compare-and-set throws aos::error(AOS_ECONFLICT). */
    std::uint64_t kv_put(std::string_view key, std::string_view value, std::uint64_t expected = AOS_KV_ANY_VERSION,
                         std::string_view ns = {}) const {
        require(AOS_API_HAS(api_, kv_put), "kv_put", 7);
        std::uint64_t version = 0;
        std::string name(ns);
        check(api_->kv_put(ctx_, name.empty() ? nullptr : name.c_str(), std::string(key).c_str(), bytes(value), expected, &version));
        return version;
    }

    /** kv_delete: remove `key`; false when it was absent. */
    bool kv_delete(std::string_view key, std::uint64_t expected = AOS_KV_ANY_VERSION, std::string_view ns = {}) const {
        require(AOS_API_HAS(api_, kv_delete), "kv_delete", 7);
        std::string name(ns);
        aos_status status = api_->kv_delete(ctx_, name.empty() ? nullptr : name.c_str(), std::string(key).c_str(), expected);
        if (status == AOS_ENOTFOUND) return false;
        check(status);
        return true;
    }

    /** kv_list: a page of keys starting with `prefix` after `after`, as kv_list's JSON. */
    buffer kv_list(std::string_view prefix = {}, std::string_view after = {}, std::uint32_t limit = AOS_KV_MAX_PAGE,
                   std::string_view ns = {}) const {
        require(AOS_API_HAS(api_, kv_list), "kv_list", 7);
        buffer json(ctx_, api_);
        std::string name(ns), start(prefix), from(after);
        check(api_->kv_list(ctx_, name.empty() ? nullptr : name.c_str(), start.c_str(), from.empty() ? nullptr : from.c_str(),
                            limit, json.out()));
        return json;
    }

    aos_ctx *raw() const noexcept { return ctx_; }
    const aos_kernel_api *api() const noexcept { return api_; }

    /** Throws aos::error with last_error's reason unless `status` is AOS_OK. */
    void check(aos_status status) const {
        if (status == AOS_OK) return;
        throw error(status, AOS_API_HAS(api_, last_error) ? api_->last_error(ctx_) : "");
    }

private:
    static aos_bytes bytes(std::string_view text) noexcept {
        return aos_bytes{reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
    }
    void require(bool present, const char *syscall, int minor) const {
        if (!present) throw error(AOS_EABI, std::string("the kernel has no ") + syscall + " (ABI 1." + std::to_string(minor) + ")");
    }
    aos_ctx *ctx_;
    const aos_kernel_api *api_;
};

/** Runs `body`; an exception becomes a status and an error line in the log. */
template <class Body>
aos_status guarded(const context &ctx, const char *what, Body &&body) noexcept {
    try {
        body();
        return AOS_OK;
    } catch (const error &e) {
        ctx.log(AOS_LOG_ERROR, std::string(what) + " failed: " + e.what());
        return e.status() != AOS_OK ? e.status() : AOS_EHANDLER;
    } catch (const std::exception &e) {
        ctx.log(AOS_LOG_ERROR, std::string(what) + " failed: " + e.what());
        return AOS_EHANDLER;
    } catch (...) {
        ctx.log(AOS_LOG_ERROR, std::string(what) + " failed: an exception that is not a std::exception");
        return AOS_EHANDLER;
    }
}

/** The C entries of an agent class T (see the top of this file). */
template <class T>
struct agent_entries {
    struct instance {
        context ctx;
        T agent;
    };
    static aos_status init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) noexcept {
        context c(ctx, api);
        return guarded(c, "init", [&] { *state = new instance{c, T(c, config != nullptr ? config : "")}; });
    }
    static aos_status on_message(aos_ctx *, void *state, const aos_message *msg) noexcept {
        auto *self = static_cast<instance *>(state);
        return guarded(self->ctx, "handler", [&] { self->agent.on_message(message(*msg)); });
    }
    static void stop(aos_ctx *, void *state) noexcept {
        auto *self = static_cast<instance *>(state);
        context c = self->ctx;
        guarded(c, "stop", [&] { delete self; });
    }
    static aos_status save(aos_ctx *, void *state, aos_buffer *out) noexcept {
        auto *self = static_cast<instance *>(state);
        return guarded(self->ctx, "save", [&] {
            std::string bytes = self->agent.save();
            if (bytes.empty()) return;
            void *copy = std::malloc(bytes.size());
            if (copy == nullptr) throw error(AOS_ENOMEM, "no memory for " + std::to_string(bytes.size()) + " bytes of state");
            std::memcpy(copy, bytes.data(), bytes.size());
            out->ptr = static_cast<uint8_t *>(copy);
            out->len = bytes.size();
        });
    }
    static aos_status restore(aos_ctx *, void *state, aos_bytes saved) noexcept {
        auto *self = static_cast<instance *>(state);
        return guarded(self->ctx, "restore", [&] {
            self->agent.restore(std::string_view(reinterpret_cast<const char *>(saved.ptr), saved.len));
        });
    }
};

/** Whether agent class T hands its state across a reload: `std::string save()`
 * and `void restore(std::string_view)`, both or neither. */
template <class T, class = void>
struct hands_over_state : std::false_type {};
template <class T>
struct hands_over_state<T, std::void_t<decltype(std::string(std::declval<T &>().save())),
                                       decltype(std::declval<T &>().restore(std::string_view()))>> : std::true_type {};

/** The descriptor of agent class T; `capabilities` NULL-terminated, or nullptr. Constant data. */
template <class T>
constexpr aos_plugin_descriptor agent_descriptor(const char *name, const char *version, const char *description,
                                                 const char *const *capabilities = nullptr) noexcept {
    aos_plugin_descriptor d = aos_plugin_header();
    d.kind = AOS_KIND_AGENT;
    d.name = name;
    d.version = version;
    d.description = description;
    d.capabilities = capabilities;
    d.init = agent_entries<T>::init;
    d.on_message = agent_entries<T>::on_message;
    d.stop = agent_entries<T>::stop;
    if constexpr (hands_over_state<T>::value) {
        d.save = agent_entries<T>::save;
        d.restore = agent_entries<T>::restore;
    }
    return d;
}

/** A tool's flags by name (aos_tool.flags). */
struct tool_options {
    /** AOS_TOOL_THREAD_SAFE: the function may run on several threads at once. */
    bool thread_safe = false;
    /** AOS_TOOL_NEEDS_APPROVAL (ABI 1.11): a call the model makes in a tool loop
        waits for `agentctl runs approve|reject`. A kernel before 1.11 refuses it. */
    bool needs_approval = false;
};

/** One entry of a tool table: `fn` (AOS_TOOL_FN(f)) taking `params` in order. Constant data. */
constexpr aos_tool tool(const char *name, const char *description, aos_tool_fn fn, std::uint32_t returns,
                        const aos_tool_param *params, std::uint32_t n_params, tool_options options = {}) noexcept {
    aos_tool t{};
    t.name = name;
    t.description = description;
    t.fn = fn;
    t.returns = returns;
    t.flags = (options.thread_safe ? AOS_TOOL_THREAD_SAFE : 0u) | (options.needs_approval ? AOS_TOOL_NEEDS_APPROVAL : 0u);
    t.n_params = n_params;
    t.params = params;
    return t;
}

/** The descriptor of a tool plugin with `n_tools` entries of `tools`; `init` may be nullptr. Constant data. */
constexpr aos_plugin_descriptor tool_descriptor(const char *name, const char *version, const char *description,
                                                const aos_tool *tools, std::uint32_t n_tools,
                                                aos_status (*init)(aos_ctx *, const aos_kernel_api *, const char *, void **) = nullptr) noexcept {
    aos_plugin_descriptor d = aos_plugin_header();
    d.kind = AOS_KIND_TOOL;
    d.name = name;
    d.version = version;
    d.description = description;
    d.init = init;
    d.tools = tools;
    d.n_tools = n_tools;
    return d;
}

} // namespace aos

#endif /* AGENTOS_HPP */
