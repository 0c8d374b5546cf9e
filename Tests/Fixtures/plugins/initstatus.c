/*
 * initstatus — an agent whose init returns the number its config names
 * (e.g. "7" or "-99"), to check how the kernel shows statuses that are not
 * aos_status codes: with their value, never a bare "AOS_E?".
 */
#include <stdlib.h>

#include "agentos.h"

static aos_status initstatus_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                                  void **state) {
    (void)ctx;
    (void)api;
    *state = NULL;
    return (aos_status)strtol(config, NULL, 10);
}

static aos_status initstatus_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    return AOS_OK;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "initstatus",
    .version = "0",
    .description = "Test fixture: init returns the status its config names.",
    .init = initstatus_init,
    .on_message = initstatus_on_message,
};
