/*
 * sender.c — sends one message on request and answers with the status.
 *
 *   "TARGET TEXT"    api->send(TARGET, TEXT, timeout 0); TEXT may be empty
 *   "big TARGET N"   api->send(TARGET, N bytes of 'x', timeout 0)
 *
 * A request is answered with aos_status_name() of the send, e.g.
 * "AOS_ENOTFOUND" or "AOS_ETOOBIG". A body starting with "big " always takes
 * the second form; if the rest is not "TARGET N", the message fails with
 * AOS_EINVAL. TARGET is passed on unchecked, so that the kernel's own checks
 * of names are what gets tested.
 */
#include <stdlib.h>

#include "fixture.h"

#define MAX_BIG (1u << 30) /* bytes: more than any kernel message limit */

/* "TARGET TEXT" in `text` (`len` bytes, NUL-terminated): sends TEXT. */
static aos_status send_text(aos_ctx *ctx, const aos_kernel_api *api, char *text, size_t len) {
    char *space = memchr(text, ' ', len);
    aos_bytes body = {(const uint8_t *)text + len, 0};

    if (space != NULL) {
        *space = '\0';
        body = (aos_bytes){(const uint8_t *)space + 1, len - (size_t)(space + 1 - text)};
    }
    return api->send(ctx, text, body, 0);
}

/* "TARGET N" in `args` (NUL-terminated): sends N bytes of 'x', storing the
 * send's status in `*sent`. Returns AOS_EINVAL or AOS_ENOMEM when it cannot. */
static aos_status send_big(aos_ctx *ctx, const aos_kernel_api *api, char *args,
                           aos_status *sent) {
    char *space = strchr(args, ' ');
    uint64_t n;

    if (space == NULL || !fixture_parse_u64(space + 1, strlen(space + 1), &n) || n > MAX_BIG)
        return AOS_EINVAL;
    *space = '\0';

    uint8_t *payload = malloc(n > 0 ? (size_t)n : 1);
    if (payload == NULL)
        return AOS_ENOMEM;
    memset(payload, 'x', (size_t)n);
    *sent = api->send(ctx, args, (aos_bytes){payload, (size_t)n}, 0);
    free(payload);
    return AOS_OK;
}

static aos_status sender_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    size_t len = msg->body.len;

    /* A NUL-terminated copy of the body, to split in place. */
    char *text = malloc(len + 1);
    if (text == NULL)
        return AOS_ENOMEM;
    if (len > 0)
        memcpy(text, msg->body.ptr, len);
    text[len] = '\0';

    aos_status sent = AOS_OK;
    aos_status status = AOS_OK;
    if (len >= 4 && memcmp(text, "big ", 4) == 0)
        status = send_big(ctx, api, text + 4, &sent);
    else
        sent = send_text(ctx, api, text, len);
    free(text);

    if (status != AOS_OK)
        return status;
    return fixture_reply(ctx, api, msg, aos_status_name(sent));
}

/* Sending to other agents needs a capability; the kernel decides which
 * targets it grants. */
static const char *const sender_capabilities[] = {"send:*", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "sender",
    .version = "0",
    .description = "Test fixture: sends a message on request and replies with the status name.",
    .capabilities = sender_capabilities,
    .init = fixture_init,
    .on_message = sender_on_message,
    .stop = NULL,
};
