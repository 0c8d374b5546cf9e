/*
 * exiter — an agent that ends the whole process with exit(0), as a careless
 * plugin might: in init when its config is "exit", or on a message "exit".
 *
 * The kernel must not end with status 0 and no word: its exit hook names
 * this instance on stderr and turns the status into a failure (70).
 * Any other message is echoed back, so a test can see it running first.
 */
#include <stdlib.h>

#include "fixture.h"

static aos_status exiter_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                              void **state) {
    if (strcmp(config, "exit") == 0)
        exit(0);
    return fixture_init(ctx, api, config, state);
}

static aos_status exiter_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    if (msg->body.len == 4 && memcmp(msg->body.ptr, "exit", 4) == 0)
        exit(0);
    return fixture_echo(ctx, state, msg);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "exiter",
    .version = "0",
    .description = "Test fixture: calls exit(0) in init (config \"exit\") or on the message \"exit\".",
    .init = exiter_init,
    .on_message = exiter_on_message,
};
