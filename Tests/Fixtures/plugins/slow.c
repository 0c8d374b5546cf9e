/*
 * slow.c — an agent that takes its time.
 *
 * The body is a number of milliseconds as decimal text (empty: 100; more
 * than 60000: 60000). on_message sleeps that long, then answers a request
 * with "done". Any other body fails the message with AOS_EINVAL.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
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
    uint64_t ms = DEFAULT_MS;

    if (msg->body.len > 0 && !fixture_parse_u64(msg->body.ptr, msg->body.len, &ms))
        return AOS_EINVAL;
    sleep_ms(ms < MAX_MS ? ms : MAX_MS);
    return fixture_reply(ctx, fixture_api(state), msg, "done");
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
