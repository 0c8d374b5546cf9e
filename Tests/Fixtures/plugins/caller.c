/*
 * caller.c — makes one call on request and answers with its outcome.
 *
 *   "TARGET TIMEOUT_MS TEXT"   api->call(TARGET, TEXT, TIMEOUT_MS, &reply)
 *
 * Logs "caller: calling TARGET" first (so a test can tell the call is on its
 * way). A request is answered with "AOS_OK REPLY" when the call succeeded,
 * else with aos_status_name() of the call, e.g. "AOS_EUNREACHABLE" or
 * "AOS_ETIMEDOUT". TEXT may be empty. A body that is not "TARGET TIMEOUT_MS
 * ..." fails the message with AOS_EINVAL. TARGET is passed on unchecked, so
 * that the kernel's own checks of names are what gets tested.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

#define MAX_NAME 127u

static aos_status caller_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    const char *text = (const char *)msg->body.ptr;
    size_t len = msg->body.len;
    const char *first = len > 0 ? memchr(text, ' ', len) : NULL;
    if (first == NULL || first == text || (size_t)(first - text) > MAX_NAME)
        return AOS_EINVAL;
    const char *rest = first + 1;
    size_t rest_len = len - (size_t)(rest - text);
    const char *second = memchr(rest, ' ', rest_len);
    size_t digits = second != NULL ? (size_t)(second - rest) : rest_len;
    uint64_t timeout_ms;
    if (!fixture_parse_u64(rest, digits, &timeout_ms) || timeout_ms > UINT32_MAX)
        return AOS_EINVAL;

    char target[MAX_NAME + 1];
    memcpy(target, text, (size_t)(first - text));
    target[first - text] = '\0';
    aos_bytes body = {NULL, 0};
    if (second != NULL)
        body = (aos_bytes){(const uint8_t *)second + 1, rest_len - digits - 1};

    char line[MAX_NAME + 32];
    snprintf(line, sizeof line, "caller: calling %s", target);
    api->log(ctx, AOS_LOG_INFO, line);
    aos_buffer reply = {NULL, 0};
    aos_status status = api->call(ctx, target, body, (uint32_t)timeout_ms, &reply);
    if (status != AOS_OK)
        return fixture_reply(ctx, api, msg, aos_status_name(status));

    char *answer = malloc(reply.len + 8);
    if (answer == NULL) {
        api->release(ctx, &reply);
        return AOS_ENOMEM;
    }
    memcpy(answer, "AOS_OK ", 7);
    if (reply.len > 0)
        memcpy(answer + 7, reply.ptr, reply.len);
    answer[7 + reply.len] = '\0';
    api->release(ctx, &reply);
    status = fixture_reply(ctx, api, msg, answer);
    free(answer);
    return status;
}

/* Calling other agents needs a capability; the kernel decides which targets
 * it grants. */
static const char *const caller_capabilities[] = {"send:*", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "caller",
    .version = "0",
    .description = "Test fixture: calls TARGET with TEXT and answers with the call's status and reply.",
    .capabilities = caller_capabilities,
    .init = fixture_init,
    .on_message = caller_on_message,
    .stop = NULL,
};
