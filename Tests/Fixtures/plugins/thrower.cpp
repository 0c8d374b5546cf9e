/*
 * thrower — a C++ agent that lets an exception escape on_message when the
 * message is "throw", breaking the header's rule that nothing unwinds across
 * the ABI. The runtime then calls std::terminate and the process aborts: the
 * kernel's fatal line must name this instance, not just a thread.
 * Any other message is echoed back, so a test can see it running first.
 *
 * Written the way agentos.h tells C++17 authors to declare a descriptor:
 * aos_plugin_header() in a lambda, fields set by name.
 */
#include <cstring>
#include <stdexcept>

#include "agentos.h"

static aos_status thrower_init(aos_ctx *, const aos_kernel_api *api, const char *, void **state) {
    *state = const_cast<aos_kernel_api *>(api);
    return AOS_OK;
}

static aos_status thrower_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    if (msg->body.len == 5 && std::memcmp(msg->body.ptr, "throw", 5) == 0)
        throw std::runtime_error("thrower: an exception escaped on_message");
    const aos_kernel_api *api = static_cast<const aos_kernel_api *>(state);
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;
    return api->reply(ctx, msg->id, msg->body);
}

extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
const aos_plugin_descriptor aos_plugin = [] {
    aos_plugin_descriptor d = aos_plugin_header();
    d.kind = AOS_KIND_AGENT;
    d.name = "thrower";
    d.version = "0";
    d.description = "Test fixture: a C++ exception escapes on_message on \"throw\".";
    d.init = thrower_init;
    d.on_message = thrower_on_message;
    return d;
}();
