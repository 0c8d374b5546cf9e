/*
 * slow.c — an agent that takes its time.
 *
 * The body is a number of milliseconds as decimal text (empty: 100; more
 * than 60000: 60000). on_message logs "slow: sleeping N ms" (so a test can
 * tell the message is in hand, not queued), sleeps that long, then answers a
 * request with "done". Any other body fails the message with AOS_EINVAL.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "fixture.h"

#define DEFAULT_MS 100u
#define MAX_MS     60000u

/* Sleeps `ms` milliseconds, resuming after signals. */
static void sleep_ms(uint64_t ms) {
    struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        continue;
}

static aos_status slow_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    uint64_t ms = DEFAULT_MS;
    char line[64];

    if (msg->body.len > 0 && !fixture_parse_u64(msg->body.ptr, msg->body.len, &ms))
        return AOS_EINVAL;
    if (ms > MAX_MS)
        ms = MAX_MS;
    snprintf(line, sizeof line, "slow: sleeping %" PRIu64 " ms", ms);
    api->log(ctx, AOS_LOG_INFO, line);
    sleep_ms(ms);
    return fixture_reply(ctx, api, msg, "done");
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "slow",
    .version = "0",
    .description = "Test fixture: sleeps for the body's milliseconds, then replies \"done\".",
    .capabilities = NULL,
    .init = fixture_init,
    .on_message = slow_on_message,
    .stop = NULL,
};
