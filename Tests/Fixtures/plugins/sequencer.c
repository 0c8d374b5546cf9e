/*
 * sequencer.c — sends a numbered run of messages to another agent.
 *
 *   request "TARGET N"   api->send(TARGET, "<own name> I", timeout 10000 ms)
 *                        for I = 1..N, in order, from this instance's thread
 *
 * Logs "sequencer: sending N to TARGET" first (so a test can tell the run
 * has started). Answers "ok" when every send succeeded, else stops at the
 * first failure and answers its aos_status_name(), e.g. "AOS_EFULL". Several instances
 * sending to one ordercheck instance test per-sender FIFO under contention.
 * A body that is not "TARGET N" (N at most 10000000) fails with AOS_EINVAL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

#define SEND_TIMEOUT_MS 10000u /* a full mailbox makes send wait: back-pressure */
#define MAX_COUNT       10000000u
#define MAX_NAME        63u

static aos_status sequencer_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    const uint8_t *space = msg->body.len > 0 ? memchr(msg->body.ptr, ' ', msg->body.len) : NULL;
    char target[MAX_NAME + 1];
    uint64_t n;

    if (space == NULL || space == msg->body.ptr || (size_t)(space - msg->body.ptr) > MAX_NAME ||
        !fixture_parse_u64(space + 1, msg->body.len - (size_t)(space + 1 - msg->body.ptr), &n) ||
        n > MAX_COUNT)
        return AOS_EINVAL;
    memcpy(target, msg->body.ptr, (size_t)(space - msg->body.ptr));
    target[space - msg->body.ptr] = '\0';

    aos_self_info self = {.struct_size = sizeof self};
    aos_status status = api->self(ctx, &self);
    if (status != AOS_OK)
        return status;

    char line[MAX_NAME + 64];
    snprintf(line, sizeof line, "sequencer: sending %" PRIu64 " to %s", n, target);
    api->log(ctx, AOS_LOG_INFO, line);

    for (uint64_t i = 1; i <= n && status == AOS_OK; i++) {
        char line[MAX_NAME + 24];
        int len = snprintf(line, sizeof line, "%s %" PRIu64, self.name, i);
        status = api->send(ctx, target, (aos_bytes){(const uint8_t *)line, (size_t)len},
                           SEND_TIMEOUT_MS);
    }
    return fixture_reply(ctx, api, msg, status == AOS_OK ? "ok" : aos_status_name(status));
}

/* Sending to other agents needs a capability; the kernel decides which
 * targets it grants. */
static const char *const sequencer_capabilities[] = {"send:*", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "sequencer",
    .version = "0",
    .description = "Test fixture: sends \"<name> 1\"..\"<name> N\" to a target on request.",
    .capabilities = sequencer_capabilities,
    .init = fixture_init,
    .on_message = sequencer_on_message,
    .stop = NULL,
};
