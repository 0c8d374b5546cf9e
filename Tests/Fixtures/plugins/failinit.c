/*
 * failinit.c — an agent whose init fails with AOS_EPERM.
 *
 * The kernel must list the instance as failed with that status, keep the
 * log line, and never call on_message or stop.
 */
#include "agentos.h"

static aos_status failinit_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                                void **state) {
    (void)config;
    *state = NULL;
    api->log(ctx, AOS_LOG_ERROR, "failinit: refusing to start (AOS_EPERM)");
    return AOS_EPERM;
}

static aos_status failinit_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    return AOS_EINTERNAL; /* unreachable when the kernel honours init's status */
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "failinit",
    .version = "0",
    .description = "Test fixture: init fails with AOS_EPERM.",
    .capabilities = NULL,
    .init = failinit_init,
    .on_message = failinit_on_message,
    .stop = NULL,
};
