/*
 * replyfail.c — an agent whose handler fails without replying.
 *
 * on_message returns AOS_EINTERNAL: the kernel must log and count it, and a
 * caller waiting for a reply must get AOS_EHANDLER instead of waiting.
 */
#include "fixture.h"

static aos_status replyfail_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    return AOS_EINTERNAL;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "replyfail",
    .version = "0",
    .description = "Test fixture: on_message returns AOS_EINTERNAL without replying.",
    .capabilities = NULL,
    .init = fixture_init,
    .on_message = replyfail_on_message,
    .stop = NULL,
};
