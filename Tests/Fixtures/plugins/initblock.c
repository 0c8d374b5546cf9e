/*
 * initblock.c — an agent whose init never returns.
 *
 * The kernel cannot interrupt a plugin thread, so after its init timeout it
 * must fail the load, list the instance as hung, keep the library open while
 * the thread runs its code, and stay healthy and stoppable itself.
 */
#define _POSIX_C_SOURCE 200809L

#include <unistd.h>

#include "fixture.h"

static aos_status initblock_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                                 void **state) {
    (void)config;
    *state = NULL;
    api->log(ctx, AOS_LOG_INFO, "initblock: blocking forever in init");
    for (;;)
        pause(); /* returns only after a signal handler ran; block again */
    return AOS_OK; /* not reached */
}

static aos_status initblock_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    return AOS_EINTERNAL; /* unreachable: init never returns */
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "initblock",
    .version = "0",
    .description = "Test fixture: init blocks forever.",
    .capabilities = NULL,
    .init = initblock_init,
    .on_message = initblock_on_message,
    .stop = NULL,
};
