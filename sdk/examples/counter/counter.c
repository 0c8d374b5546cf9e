/*
 * counter.c — counts the messages and bytes it receives.
 *
 * Every message, plain or request, adds one to the message count and its
 * body length to the byte count. A request is answered with the message
 * count (including itself) as decimal text, e.g. "42".
 *
 * Config: "" or "start=N", the count to start from (a decimal integer).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* Per-instance state. */
typedef struct counter_state {
    const aos_kernel_api *api;
    uint64_t messages; /* messages received, plus the configured start */
    uint64_t bytes;    /* body bytes received */
} counter_state;

/* Parses `text` as a decimal uint64_t: digits only, no sign, no overflow. */
static int parse_u64(const char *text, uint64_t *out) {
    uint64_t value = 0;

    if (*text == '\0')
        return -1;
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9')
            return -1;
        unsigned digit = (unsigned)(*text - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    *out = value;
    return 0;
}

/* Reads the config into `*start`; logs why and returns AOS_EINVAL if it is bad. */
static aos_status parse_config(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                               uint64_t *start) {
    static const char key[] = "start=";

    *start = 0;
    if (*config == '\0')
        return AOS_OK;
    if (strncmp(config, key, sizeof key - 1) != 0 ||
        parse_u64(config + sizeof key - 1, start) != 0) {
        api->log(ctx, AOS_LOG_ERROR,
                 "counter: invalid config: expected \"\" or \"start=N\" with N a decimal integer");
        return AOS_EINVAL;
    }
    return AOS_OK;
}

static aos_status counter_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                               void **state) {
    uint64_t start;
    aos_status status = parse_config(ctx, api, config, &start);
    if (status != AOS_OK)
        return status;

    counter_state *st = malloc(sizeof *st);
    if (st == NULL)
        return AOS_ENOMEM;
    *st = (counter_state){.api = api, .messages = start, .bytes = 0};
    *state = st;
    return AOS_OK;
}

static aos_status counter_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    counter_state *st = state;

    st->messages++;
    st->bytes += msg->body.len;
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;

    char text[24]; /* UINT64_MAX has 20 digits */
    int len = snprintf(text, sizeof text, "%" PRIu64, st->messages);
    return st->api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)text, (size_t)len});
}

static void counter_stop(aos_ctx *ctx, void *state) {
    counter_state *st = state;
    char line[96];

    snprintf(line, sizeof line, "counter: stopped at %" PRIu64 " messages, %" PRIu64 " bytes",
             st->messages, st->bytes);
    st->api->log(ctx, AOS_LOG_INFO, line);
    free(st);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "counter",
    .version = "1.0.0",
    .description = "Counts messages and bytes; answers a request with the message count.",
    .capabilities = NULL,
    .init = counter_init,
    .on_message = counter_on_message,
    .stop = counter_stop,
};
