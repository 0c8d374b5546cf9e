/*
 * relay.cpp — forwards requests to other agents, written in C++ with agentos.hpp.
 *
 * A request "AGENT TEXT" is sent on to AGENT with call; the reply comes back
 * as "AGENT replied in N us: REPLY". What it shows of agentos.hpp:
 *   - the agent is a class: its constructor is init, on_message handles a
 *     message, its destructor is stop (aos::agent_descriptor makes the entries);
 *   - aos::buffer owns the reply the kernel allocated and releases it when it
 *     goes out of scope, whatever happens in between;
 *   - a failure is an exception: a malformed request or a failed call throws
 *     aos::error, which the entry turns into the handler's status and a log
 *     line (the caller gets AOS_EHANDLER); nothing unwinds into the kernel.
 *
 *   agentctl load build/plugins/relay.so --grant send:echo
 *   agentctl send relay "echo hello" --wait     # echo replied in 41 us: hello
 *   agentctl send relay "nobody hello" --wait   # fails; agentctl logs relay says why
 */
#include <string>
#include <string_view>

#include "agentos.hpp"

namespace {

class relay {
public:
    relay(aos::context ctx, std::string_view config) : ctx_(ctx) {
        if (!config.empty()) throw aos::error(AOS_EINVAL, "relay takes no config");
        ctx_.log(AOS_LOG_INFO, "relay: started as " + std::string(ctx_.self().name));
    }
    ~relay() { ctx_.log(AOS_LOG_INFO, "relay: stopped after " + std::to_string(relayed_) + " requests"); }

    void on_message(const aos::message &msg) {
        if (!msg.is_request()) {
            ctx_.log(AOS_LOG_INFO, "relay: plain message from " + std::string(msg.from()) + " ignored");
            return;
        }
        std::string_view body = msg.body();
        std::size_t space = body.find(' ');
        if (space == std::string_view::npos || space == 0)
            throw aos::error(AOS_EINVAL, "expected 'AGENT TEXT', got '" + std::string(body) + "'");
        std::string_view to = body.substr(0, space);

        std::uint64_t start = ctx_.now(AOS_CLOCK_MONOTONIC);
        aos::buffer reply = ctx_.call(to, body.substr(space + 1), 10000);
        std::uint64_t micros = (ctx_.now(AOS_CLOCK_MONOTONIC) - start) / 1000;
        relayed_++;
        ctx_.reply(msg, std::string(to) + " replied in " + std::to_string(micros) + " us: " + reply.str());
    }

private:
    aos::context ctx_;
    std::uint64_t relayed_ = 0;
};

} // namespace

extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
const aos_plugin_descriptor aos_plugin = aos::agent_descriptor<relay>(
    "relay", "1.0.0", "Forwards a request \"AGENT TEXT\" to AGENT and replies with its answer and the time it took.");
