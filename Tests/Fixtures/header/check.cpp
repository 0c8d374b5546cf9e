/*
 * check.cpp — proves that agentos.h is clean C++17 and usable from C++.
 *
 *   c++ -std=c++17 -Wall -Wextra -pedantic -Werror -I sdk/include \
 *       Tests/Fixtures/header/check.cpp -o check_cpp && ./check_cpp
 *
 * The C++ twin of check.c. C++17 has no designated initializers, so the
 * descriptor is made as the header tells C++ authors: aos_plugin_header()
 * in a lambda that sets the other fields by name, the symbol declared
 * `extern "C"` first: that both gives it the unmangled name the kernel looks
 * up and keeps it external (a namespace-scope const object is otherwise
 * internal in C++). Prints each failed check; exits 1 if any.
 */
#include "agentos.h"

#include <cstdio>
#include <cstring>

// The handshake constants.
static_assert(AOS_PLUGIN_MAGIC == 0x414F5350u, "magic spells AOSP");
static_assert(AOS_ABI_MAJOR == 1 && AOS_ABI_MINOR >= 0, "ABI 1.x");
static_assert((AOS_BUILD_ID & 0xFFu) == sizeof(void *) * 8u, "build id: pointer bits");

// Field offsets are the ABI, and C++ must lay the structs out as C does.
#if UINTPTR_MAX == UINT64_MAX
static_assert(offsetof(aos_message, id) == 8 && offsetof(aos_message, from) == 16 &&
                  offsetof(aos_message, body) == 24,
              "aos_message");
static_assert(offsetof(aos_self_info, name) == 16, "aos_self_info");
static_assert(offsetof(aos_kernel_api, send) == 8 && offsetof(aos_kernel_api, release) == 56,
              "aos_kernel_api");
static_assert(offsetof(aos_plugin_descriptor, name) == 24 &&
                  offsetof(aos_plugin_descriptor, init) == 56 &&
                  offsetof(aos_plugin_descriptor, stop) == 72 &&
                  offsetof(aos_plugin_descriptor, tool_size) == 96 &&
                  offsetof(aos_plugin_descriptor, runtime) == 104 &&
                  offsetof(aos_plugin_descriptor, save) == 112 &&
                  offsetof(aos_plugin_descriptor, restore) == 120 &&
                  sizeof(aos_plugin_descriptor) == 128,
              "aos_plugin_descriptor");
static_assert(sizeof(aos_tool) == 64 && sizeof(aos_tool_param) == 24, "ABI 1.2 tool sizes");
static_assert(offsetof(aos_kernel_api, last_error) == 144, "aos_kernel_api 1.4");
// ABI 1.7, appended: storage.
static_assert(offsetof(aos_kernel_api, kv_get) == 152 && offsetof(aos_kernel_api, kv_list) == 176 &&
                  sizeof(aos_kernel_api) == 184,
              "aos_kernel_api 1.7");
/* ABI 1.10, appended: sessions on the inference request and the message. */
static_assert(offsetof(aos_infer_request, reserved2) == 92 && offsetof(aos_infer_request, session) == 96 &&
                   offsetof(aos_infer_request, session_policy) == 104 && offsetof(aos_infer_request, session_busy) == 108 &&
                   sizeof(aos_infer_request) == 112,
               "aos_infer_request 1.10");
static_assert(offsetof(aos_message, inference) == 40 && offsetof(aos_message, session) == 48 &&
                   sizeof(aos_message) == 56,
               "aos_message 1.10");
// ABI 1.11, appended: a tool flag; the flags stay distinct bits.
static_assert(AOS_TOOL_NEEDS_APPROVAL == 0x2u && (AOS_TOOL_NEEDS_APPROVAL & AOS_TOOL_THREAD_SAFE) == 0, "aos_tool.flags 1.11");
#endif

// aos_plugin_header() is a constant expression: descriptors stay constant data.
static_assert(aos_plugin_header().magic == AOS_PLUGIN_MAGIC &&
                  aos_plugin_header().struct_size == sizeof(aos_plugin_descriptor) &&
                  aos_plugin_header().tool_size == sizeof(aos_tool) &&
                  aos_plugin_header().param_size == sizeof(aos_tool_param) &&
                  aos_plugin_header().kind == 0 && aos_plugin_header().name == nullptr,
              "aos_plugin_header()");

static int failures;

static void check(bool ok, const char *what) {
    if (!ok) {
        std::printf("FAIL: %s\n", what);
        failures++;
    }
}

// A fake kernel: enough of the table to drive the plugin below.
static char last_log[64];

static aos_status fake_log(aos_ctx *, uint32_t level, const char *text) {
    if (level != AOS_LOG_DEBUG && level != AOS_LOG_INFO && level != AOS_LOG_WARN &&
        level != AOS_LOG_ERROR)
        return AOS_EINVAL;
    std::snprintf(last_log, sizeof last_log, "%s", text);
    return AOS_OK;
}

static aos_status fake_now(aos_ctx *, uint32_t clock, uint64_t *ns) {
    *ns = clock == AOS_CLOCK_REALTIME ? 1u : clock == AOS_CLOCK_MONOTONIC ? 2u : 0u;
    return *ns != 0 ? AOS_OK : AOS_EINVAL;
}

static aos_status fake_self(aos_ctx *, aos_self_info *info) {
    if (info == nullptr || info->struct_size < sizeof *info)
        return AOS_EINVAL;
    info->instance_id = 7;
    info->name = "checker";
    return AOS_OK;
}

static void fake_release(aos_ctx *, aos_buffer *buffer) {
    buffer->ptr = nullptr;
    buffer->len = 0;
}

// A plugin written in C++. Nothing may unwind out of these: no exceptions.
static aos_status plugin_init(aos_ctx *ctx, const aos_kernel_api *api, const char *,
                              void **state) {
    *state = const_cast<aos_kernel_api *>(api);
    return api->log(ctx, AOS_LOG_INFO, "init");
}

static aos_status plugin_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = static_cast<const aos_kernel_api *>(state);
    aos_self_info self = {};
    self.struct_size = sizeof self;
    uint64_t now = 0;

    if (api->self(ctx, &self) != AOS_OK || api->now(ctx, AOS_CLOCK_MONOTONIC, &now) != AOS_OK)
        return AOS_EINTERNAL;
    if (!AOS_API_HAS(api, reply))
        return AOS_OK; // an older kernel: answer nothing
    return (msg->flags & AOS_MSG_REQUEST) ? AOS_ENOTFOUND : AOS_OK;
}

static void plugin_stop(aos_ctx *, void *) {}

static const char *const plugin_capabilities[] = {"send:echo", nullptr};

extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
const aos_plugin_descriptor aos_plugin = [] {
    aos_plugin_descriptor d = aos_plugin_header();
    d.kind = AOS_KIND_AGENT;
    d.name = "check";
    d.version = "1";
    d.description = "header check";
    d.capabilities = plugin_capabilities;
    d.init = plugin_init;
    d.on_message = plugin_on_message;
    d.stop = plugin_stop;
    return d;
}();

// A tool table in C++: positional, as aos_tool has no constructor.
static int32_t negate(int32_t value) { return -value; }
static const aos_tool_param negate_params[] = {{"value", AOS_TYPE_INT32, 1, "the number"}};
static const aos_tool check_tools[] = {
    {"negate", "-value", AOS_TOOL_FN(negate), AOS_TYPE_INT32, AOS_TOOL_THREAD_SAFE, 1, 0,
     negate_params, nullptr, nullptr},
};

static void check_statuses() {
    static const struct {
        aos_status code;
        const char *name;
    } table[] = {
        {AOS_OK, "AOS_OK"},
        {AOS_EINVAL, "AOS_EINVAL"},
        {AOS_ENOTFOUND, "AOS_ENOTFOUND"},
        {AOS_EFULL, "AOS_EFULL"},
        {AOS_ETIMEDOUT, "AOS_ETIMEDOUT"},
        {AOS_ESTOPPING, "AOS_ESTOPPING"},
        {AOS_EPERM, "AOS_EPERM"},
        {AOS_EQUOTA, "AOS_EQUOTA"},
        {AOS_EABI, "AOS_EABI"},
        {AOS_EINTERNAL, "AOS_EINTERNAL"},
        {AOS_ETOOBIG, "AOS_ETOOBIG"},
        {AOS_EEXIST, "AOS_EEXIST"},
        {AOS_ENOMEM, "AOS_ENOMEM"},
        {AOS_EWRONGTHREAD, "AOS_EWRONGTHREAD"},
        {AOS_ECANCELLED, "AOS_ECANCELLED"},
        {AOS_EHANDLER, "AOS_EHANDLER"},
        {AOS_EUNAVAIL, "AOS_EUNAVAIL"},
        {AOS_ETOOL, "AOS_ETOOL"},
        {AOS_ELOOP, "AOS_ELOOP"},
        {AOS_ECONFLICT, "AOS_ECONFLICT"},
        {AOS_ESTORAGE, "AOS_ESTORAGE"},
        {AOS_ECRASHED, "AOS_ECRASHED"},
        {AOS_EUNREACHABLE, "AOS_EUNREACHABLE"},
        {AOS_EAMBIGUOUS, "AOS_EAMBIGUOUS"},
    };
    const aos_status count = static_cast<aos_status>(sizeof table / sizeof table[0]);

    for (aos_status i = 0; i < count; i++) {
        check(table[i].code == -i, "status codes run 0, -1, -2, ... in order");
        check(std::strcmp(aos_status_name(table[i].code), table[i].name) == 0, table[i].name);
        check(std::strcmp(aos_status_message(table[i].code), "unknown status") != 0,
              table[i].name);
    }
    check(std::strcmp(aos_status_name(-count), "AOS_E?") == 0, "unknown code's name");
    check(std::strcmp(aos_status_message(1), "unknown status") == 0, "unknown code's message");
}

static void check_api_has() {
    aos_kernel_api api = {};
    api.struct_size = sizeof api;
    const aos_kernel_api *p = &api;

    check(AOS_API_HAS(p, send) && AOS_API_HAS(p, call) && AOS_API_HAS(p, reply) &&
              AOS_API_HAS(p, log) && AOS_API_HAS(p, now) && AOS_API_HAS(p, self) &&
              AOS_API_HAS(p, release),
          "a full table has every field");
    api.struct_size = static_cast<uint32_t>(offsetof(aos_kernel_api, reply));
    check(AOS_API_HAS(p, call) && !AOS_API_HAS(p, reply), "a short table lacks its tail");
    api.struct_size = static_cast<uint32_t>(offsetof(aos_kernel_api, last_error));
    check(AOS_API_HAS(p, plugin_unload) && !AOS_API_HAS(p, last_error), "a 1.3 table lacks last_error");
}

static void check_plugin() {
    const aos_plugin_descriptor *d = &aos_plugin;
    aos_kernel_api api = {};
    api.struct_size = sizeof api;
    api.abi_major = AOS_ABI_MAJOR;
    api.abi_minor = AOS_ABI_MINOR;
    api.log = fake_log;
    api.now = fake_now;
    api.self = fake_self;
    api.release = fake_release;
    aos_ctx *ctx = nullptr; // opaque: only the kernel makes one
    void *state = nullptr;

    check(d->magic == AOS_PLUGIN_MAGIC && d->abi_major == AOS_ABI_MAJOR &&
              d->abi_minor == AOS_ABI_MINOR && d->struct_size == sizeof *d &&
              d->build_id == aos_build_id() && d->build_id == AOS_BUILD_ID,
          "the handshake fields");
    check(d->tool_size == sizeof(aos_tool) && d->param_size == sizeof(aos_tool_param) &&
              d->tools == nullptr && d->n_tools == 0 && d->reserved == 0,
          "aos_plugin_header(): element sizes set, the rest zero");
    check(reinterpret_cast<int32_t (*)(int32_t)>(check_tools[0].fn)(5) == -5 &&
              check_tools[0].params[0].required == 1,
          "a C++ tool table");
    check(d->kind == AOS_KIND_AGENT && AOS_KIND_TOOL != AOS_KIND_AGENT, "kinds");
    check(std::strcmp(AOS_PLUGIN_SYMBOL, "aos_plugin") == 0, "AOS_PLUGIN_SYMBOL");
    check(d->init(ctx, &api, "", &state) == AOS_OK && std::strcmp(last_log, "init") == 0,
          "init");

    uint8_t body[] = {'h', 'i'};
    aos_message msg = {sizeof(aos_message), 0, 1, "agentctl", {body, sizeof body}, nullptr, nullptr};
    check(d->on_message(ctx, state, &msg) == AOS_OK, "on_message, plain");
    msg.flags = AOS_MSG_REQUEST;
    check(d->on_message(ctx, state, &msg) == AOS_ENOTFOUND, "on_message, request");

    aos_buffer buffer = {body, sizeof body};
    api.release(ctx, &buffer);
    check(buffer.ptr == nullptr && buffer.len == 0, "release");
    uint64_t now = 0;
    check(api.now(ctx, AOS_CLOCK_REALTIME, &now) == AOS_OK && now == 1, "clocks");
    check(api.log(ctx, 0, "x") == AOS_EINVAL, "log levels");
    d->stop(ctx, state);
}

int main() {
    check_statuses();
    check_api_has();
    check_plugin();
    if (failures == 0)
        std::printf("agentos.h: all checks passed (C++)\n");
    return failures == 0 ? 0 : 1;
}
