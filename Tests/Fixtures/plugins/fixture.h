/*
 * fixture.h — helpers shared by the test fixtures. Not part of the SDK.
 */
#ifndef AOS_FIXTURE_H
#define AOS_FIXTURE_H

#include <stdbool.h>
#include <string.h>

#include "agentos.h"

/* An init for fixtures whose only state is the API table: on_message gets
 * it back from `state` through fixture_api. */
static inline aos_status fixture_init(aos_ctx *ctx, const aos_kernel_api *api,
                                      const char *config, void **state) {
    (void)ctx;
    (void)config;
    *state = (void *)api;
    return AOS_OK;
}

static inline const aos_kernel_api *fixture_api(void *state) {
    return (const aos_kernel_api *)state;
}

/* Parses `len` bytes at `text` as a decimal integer: digits only, at least
 * one, no sign, no overflow. */
static inline bool fixture_parse_u64(const void *text, size_t len, uint64_t *out) {
    const uint8_t *p = (const uint8_t *)text;
    uint64_t value = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned digit = p[i] - '0';
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

/* Answers `msg` with `text` when it is a request; a plain message needs no
 * answer. */
static inline aos_status fixture_reply(aos_ctx *ctx, const aos_kernel_api *api,
                                       const aos_message *msg, const char *text) {
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;
    aos_bytes body = {(const uint8_t *)text, strlen(text)};
    return api->reply(ctx, msg->id, body);
}

/* Answers `msg` with its own body when it is a request. */
static inline aos_status fixture_echo(aos_ctx *ctx, void *state, const aos_message *msg) {
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;
    return fixture_api(state)->reply(ctx, msg->id, msg->body);
}

#endif /* AOS_FIXTURE_H */
