/*
 * clock.c — tells a model what time it is.
 *
 * A tool plugin with one tool, "clock.now": the current time as ISO 8601
 * text, local time with its UTC offset ("2026-11-25T09:14:03+01:00") or,
 * with {"utc": true}, UTC ("2026-11-25T08:14:03Z"). The local time zone is
 * the kernel's (its TZ variable or /etc/localtime), read once at load.
 *
 *   agentctl load build/plugins/clock.so
 *   agentctl call clock.now
 *   agentctl call clock.now '{"utc": true}'
 *
 * What it shows:
 *   - A string result the kernel must not free: the text is written into a
 *     thread-local buffer and free_result is NULL. The kernel copies the text
 *     before the thread can call the tool again, which is what the header asks
 *     of such a result ("valid until the next call on the same thread").
 *   - An optional parameter: when the caller leaves `utc` out, the function
 *     gets false.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "agentos.h"

/* "YYYY-MM-DDTHH:MM:SS+HH:MM" and its NUL take 26 bytes; a year past 9999
 * takes more, and room is left for it. */
#define TIME_CAP 40

/* One buffer per thread: the tool is thread-safe, so calls on different
 * threads may overlap, and each needs its own result. */
static _Thread_local char result[TIME_CAP];

/* The current time as ISO 8601, in the thread's buffer, or NULL (which fails
 * the call) if the clock or the time zone cannot be read. */
static char *now(bool utc) {
    time_t t = time(NULL);
    struct tm tm;

    if (utc) {
        if (gmtime_r(&t, &tm) == NULL ||
            strftime(result, sizeof result, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            return NULL;
        return result;
    }

    /* %z gives the offset as +hhmm; ISO 8601's extended format, which the
     * rest of the text uses, wants +hh:mm, so a colon goes in before the
     * minutes. */
    if (localtime_r(&t, &tm) == NULL)
        return NULL;
    size_t len = strftime(result, sizeof result - 1, "%Y-%m-%dT%H:%M:%S%z", &tm); /* 1 for ':' */
    if (len == 0)
        return NULL;
    memmove(result + len - 1, result + len - 2, 3); /* the minutes and the NUL */
    result[len - 2] = ':';
    return result;
}

static const aos_tool_param now_params[] = {
    {"utc", AOS_TYPE_BOOL, 0, "true for UTC instead of local time"},
};

static const aos_tool clock_tools[] = {
    {.name = "now",
     .description = "Get the current date and time as ISO 8601 text: local time with its UTC "
                    "offset, or UTC when utc is true.",
     .fn = AOS_TOOL_FN(now),
     .returns = AOS_TYPE_STRING,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 1,
     .params = now_params,
     .free_result = NULL}, /* the text stays in `result`, ours */
};

/* POSIX leaves it to the caller of localtime_r to load the time zone first;
 * tzset does it, once, before any call. */
static aos_status clock_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                             void **state) {
    (void)ctx;
    (void)api;
    (void)config;
    tzset();
    *state = NULL;
    return AOS_OK;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "clock",
    .version = "1.0.0",
    .description = "Tool: the current date and time, local or UTC, in ISO 8601.",
    .capabilities = NULL,
    .init = clock_init,
    .on_message = NULL, /* optional for a tool plugin */
    .stop = NULL,       /* nothing to free */
    .tools = clock_tools,
    .n_tools = sizeof clock_tools / sizeof clock_tools[0],
};
