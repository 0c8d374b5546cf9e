/*
 * versioned.c — an echo that says which build of it answers, for reload tests.
 *
 * Built as versioned_v1.so and versioned_v2.so (-DVERSION=N), as
 * versioned_failinit.so (-DVERSION=3 -DFAIL_INIT, whose init returns
 * AOS_EPERM), as versioned_blockinit.so (-DVERSION=4 -DBLOCK_INIT, whose init
 * never returns), and as versioned_s1.so and versioned_s2.so (-DHANDS_STATE: a
 * reload hands K over, ABI 1.12's save and restore); every build's
 * descriptor is named "versioned". With config "segv-in-save" or
 * "segv-in-restore" a HANDS_STATE build dereferences NULL there (in
 * versioned_fault), for process-mode reload tests.
 *
 *   request "sleep MS"   logs "vN: sleeping MS ms", sleeps MS milliseconds
 *                        (at most 60000), then answers like any request
 *   request BODY         answers "vN #K BODY"
 *
 * K counts the messages this instance handled, from 1: the answers one
 * instance gave carry each K once, so a message handled twice or a reply
 * lost shows as a repeated or missing K. Plain messages are counted and not
 * answered. Each instance has its own K: the kernel loads a private copy of
 * the library for each instance, or runs it in its own host process.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fixture.h"

#ifndef VERSION
#error "build with -DVERSION=N"
#endif

#define MAX_MS   60000u
#define MAX_BODY 200u

#define STRINGIFY2(x) #x
#define STRINGIFY(x)  STRINGIFY2(x)

/* Messages handled so far; only this instance's thread touches it. */
static uint64_t handled;

#ifdef HANDS_STATE
/* Where a crash was asked for in the config: "segv-in-save", "segv-in-restore" or "". */
static char crash_in[32];

__attribute__((noinline, visibility("default"))) void versioned_fault(volatile int *where) {
    *where = 1;
}
#endif

/* Sleeps `ms` milliseconds, resuming after signals. */
static void sleep_ms(uint64_t ms) {
    struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        continue;
}

static aos_status versioned_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
#ifdef FAIL_INIT
    (void)ctx;
    (void)api;
    (void)config;
    (void)state;
    return AOS_EPERM;
#elif defined(BLOCK_INIT)
    (void)ctx;
    (void)api;
    (void)config;
    (void)state;
    for (;;)
        sleep_ms(1000);
    return AOS_OK; /* not reached */
#else
#ifdef HANDS_STATE
    snprintf(crash_in, sizeof crash_in, "%s", config ? config : "");
#endif
    return fixture_init(ctx, api, config, state);
#endif
}

static aos_status versioned_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    char line[MAX_BODY + 64];
    uint64_t ms = 0;

    handled++;
    if (msg->body.len > MAX_BODY)
        return AOS_EINVAL;
    if (msg->body.len > 6 && memcmp(msg->body.ptr, "sleep ", 6) == 0) {
        if (!fixture_parse_u64(msg->body.ptr + 6, msg->body.len - 6, &ms))
            return AOS_EINVAL;
        if (ms > MAX_MS)
            ms = MAX_MS;
        snprintf(line, sizeof line, "v" STRINGIFY(VERSION) ": sleeping %" PRIu64 " ms", ms);
        api->log(ctx, AOS_LOG_INFO, line);
        sleep_ms(ms);
    }
    snprintf(line, sizeof line, "v" STRINGIFY(VERSION) " #%" PRIu64 " %.*s", handled, (int)msg->body.len,
             (const char *)msg->body.ptr);
    return fixture_reply(ctx, api, msg, line);
}

#ifdef HANDS_STATE
/* Hands K to the next version as decimal text. */
static aos_status versioned_save(aos_ctx *ctx, void *state, aos_buffer *out) {
    char text[24];
    int len = snprintf(text, sizeof text, "%" PRIu64, handled);
    (void)ctx;
    (void)state;
    if (strcmp(crash_in, "segv-in-save") == 0)
        versioned_fault(NULL);
    out->ptr = malloc((size_t)len);
    if (out->ptr == NULL)
        return AOS_ENOMEM;
    memcpy(out->ptr, text, (size_t)len);
    out->len = (size_t)len;
    return AOS_OK;
}

/* Goes on counting from the K the replaced version handed over. */
static aos_status versioned_restore(aos_ctx *ctx, void *state, aos_bytes saved) {
    (void)ctx;
    (void)state;
    if (strcmp(crash_in, "segv-in-restore") == 0)
        versioned_fault(NULL);
    return fixture_parse_u64(saved.ptr, saved.len, &handled) ? AOS_OK : AOS_EINVAL;
}
#define SAVE    versioned_save
#define RESTORE versioned_restore
#else
#define SAVE    NULL
#define RESTORE NULL
#endif

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "versioned",
    .version = STRINGIFY(VERSION),
    .description = "Test fixture: an echo that answers \"vN #K BODY\" (its build, its message count).",
    .capabilities = NULL,
    .init = versioned_init,
    .on_message = versioned_on_message,
    .stop = NULL,
    .save = SAVE,
    .restore = RESTORE,
};
