/*
 * blocker.c — an agent whose on_message never returns.
 *
 * The kernel cannot interrupt a plugin thread, so it must notice and report
 * the instance as hung, fail the callers waiting on it, and never dlclose the
 * library while this thread still runs its code.
 */
#define _POSIX_C_SOURCE 200809L

#include <unistd.h>

#include "fixture.h"

static aos_status blocker_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    (void)msg;
    fixture_api(state)->log(ctx, AOS_LOG_INFO, "blocker: blocking forever");
    for (;;)
        pause(); /* returns only after a signal handler ran; block again */
    return AOS_OK; /* not reached */
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "blocker",
    .version = "0",
    .description = "Test fixture: on_message blocks forever.",
    .capabilities = NULL,
    .init = fixture_init,
    .on_message = blocker_on_message,
    .stop = NULL,
};
