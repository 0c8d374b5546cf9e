/*
 * echo.c — answers every request with the body it carried.
 *
 * A request comes back byte for byte, which makes echo the reference target
 * for round-trip measurements (see pinger). A plain message is logged as
 * "echo: <body>", cut to its first 200 bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* How much of a plain message's body goes into its log line. */
#define ECHO_LOG_MAX 200

static aos_status echo_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                            void **state) {
    (void)ctx;
    (void)config;
    /* The API table is the only state echo needs; on_message casts it back. */
    *state = (void *)api;
    return AOS_OK;
}

/* Logs "echo: " and at most ECHO_LOG_MAX bytes of `body`, cut on a UTF-8
 * character boundary so a long multi-byte text is not mangled at the end. */
static aos_status echo_log_body(aos_ctx *ctx, const aos_kernel_api *api, aos_bytes body) {
    static const char prefix[] = "echo: ";
    char line[sizeof prefix + ECHO_LOG_MAX];
    size_t n = body.len;

    if (n > ECHO_LOG_MAX) {
        n = ECHO_LOG_MAX;
        while (n > 0 && (body.ptr[n] & 0xC0) == 0x80) /* body.ptr[n] is a continuation byte */
            n--;
    }
    memcpy(line, prefix, sizeof prefix - 1);
    if (n > 0)
        memcpy(line + sizeof prefix - 1, body.ptr, n);
    line[sizeof prefix - 1 + n] = '\0';
    return api->log(ctx, AOS_LOG_INFO, line);
}

static aos_status echo_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = state;

    if (msg->flags & AOS_MSG_REQUEST)
        return api->reply(ctx, msg->id, msg->body); /* reply copies the body */
    return echo_log_body(ctx, api, msg->body);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "echo",
    .version = "1.0.0",
    .description = "Replies to each request with its own body; logs plain messages.",
    .capabilities = NULL,
    .init = echo_init,
    .on_message = echo_on_message,
    .stop = NULL, /* nothing to free */
};
