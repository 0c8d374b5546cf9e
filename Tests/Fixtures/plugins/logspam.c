/*
 * logspam.c — writes many log lines, some of them malformed.
 *
 * A request with body "N" (decimal, at most 10000000) writes N numbered INFO
 * lines, then one line holding invalid UTF-8 (bytes 0xff 0xfe) and one line
 * of 10000 bytes, and answers "ok". The kernel must repair the first, cut the
 * second at its line limit, and keep answering throughout. Any other body
 * fails the message with AOS_EINVAL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

#define MAX_LINES     10000000u
#define LONG_LINE_LEN 10000u

static aos_status logspam_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    uint64_t n;

    if (!fixture_parse_u64(msg->body.ptr, msg->body.len, &n) || n > MAX_LINES)
        return AOS_EINVAL;

    for (uint64_t i = 1; i <= n; i++) {
        char line[64];
        snprintf(line, sizeof line, "logspam: line %" PRIu64 " of %" PRIu64, i, n);
        api->log(ctx, AOS_LOG_INFO, line);
    }
    api->log(ctx, AOS_LOG_INFO, "logspam: invalid UTF-8 follows: \xff\xfe (end)");

    static const char prefix[] = "logspam: long line ";
    char *long_line = malloc(LONG_LINE_LEN + 1);
    if (long_line == NULL)
        return AOS_ENOMEM;
    memset(long_line, 'y', LONG_LINE_LEN);
    memcpy(long_line, prefix, sizeof prefix - 1);
    long_line[LONG_LINE_LEN] = '\0';
    api->log(ctx, AOS_LOG_INFO, long_line);
    free(long_line);

    return fixture_reply(ctx, api, msg, "ok");
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "logspam",
    .version = "0",
    .description = "Test fixture: writes N log lines plus an invalid-UTF-8 and a 10000-byte line.",
    .capabilities = NULL,
    .init = fixture_init,
    .on_message = logspam_on_message,
    .stop = NULL,
};
