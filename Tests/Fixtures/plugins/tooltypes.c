/*
 * tooltypes.c — a tool plugin with one tool per case the kernel must get right.
 *
 * Tools run on the plugin's thread, one call at a time, except the two
 * marked thread-safe.
 *
 *   echo_i32(v: int32) -> int32          echo_i64(v: int64) -> int64
 *   echo_u32(v: uint32) -> uint32        echo_u64(v: uint64) -> uint64
 *   echo_f64(v: double) -> double        echo_f32(v: float) -> float
 *   echo_bool(v: bool) -> bool           echo_str(s: string) -> string (malloc'd)
 *   mixed(a: int32, b: double, c: int64, d: float, e: bool, f: string,
 *         g: uint32, h: uint64) -> json  {"a":..,"b":..,...,"h":..}, doubles
 *                                        as %.17g, floats as %.9g
 *   optional(x: int32, y?: int32, s?: string) -> json
 *                                        {"x":..,"y":..,"s_is_null":true|false}
 *   live_strings() -> int64              results malloc'd and not yet freed
 *   null_string() -> string              NULL (the call fails; its free_result
 *                                        is the counting one, so passing it
 *                                        NULL would show as live_strings -1)
 *   bad_json() -> json                   "{not json" (static; the call fails)
 *   fail(message: string) -> int32       api->tool_error(NULL, message)
 *   sleep_ms(ms: uint32) -> uint32       sleeps, returns ms
 *   hang() -> int32                      blocks until unhang is called
 *   unhang() -> int32                    thread-safe: releases every hang,
 *                                        running or later; returns 0
 *   concat_json(args: JSON object) -> json
 *                                        a json_schema tool; returns
 *                                        {"received": <the arguments>}
 *   ts_add(a: int64, b: int64) -> int64  thread-safe: a + b (wrapping)
 *
 * Every malloc'd result (echo_str, mixed, optional, concat_json) counts in
 * live_strings from its allocation until the kernel hands it to
 * free_result, so a test can see that each was freed exactly once.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentos.h"

static const aos_kernel_api *api;
static atomic_int_fast64_t live; /* malloc'd results not yet freed */
static atomic_bool released;     /* set by unhang */

/* ------------------------------------------------------------------------ */
/* Counted results                                                          */
/* ------------------------------------------------------------------------ */

static char *counted_alloc(size_t size) {
    char *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&live, 1);
    return p;
}

static void counted_free(char *result) {
    atomic_fetch_sub(&live, 1);
    free(result);
}

/* Writes `s` as a JSON string at `out`, which has room for 6 bytes per
 * byte of `s` and 3 more; returns the end. */
static char *json_string(char *out, const char *s) {
    *out++ = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c < 0x20) {
            out += sprintf(out, "\\u%04x", c);
        } else {
            *out++ = (char)c;
        }
    }
    *out++ = '"';
    *out = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* The tools                                                                */
/* ------------------------------------------------------------------------ */

static int32_t echo_i32(int32_t v) { return v; }
static int64_t echo_i64(int64_t v) { return v; }
static uint32_t echo_u32(uint32_t v) { return v; }
static uint64_t echo_u64(uint64_t v) { return v; }
static double echo_f64(double v) { return v; }
static float echo_f32(float v) { return v; }
static bool echo_bool(bool v) { return v; }

static char *echo_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = counted_alloc(n);
    if (copy != NULL)
        memcpy(copy, s, n);
    return copy;
}

static char *mixed(int32_t a, double b, int64_t c, float d, bool e, const char *f, uint32_t g,
                   uint64_t h) {
    char *out = counted_alloc(strlen(f) * 6 + 256);
    if (out == NULL)
        return NULL;
    char *p = out + sprintf(out,
                            "{\"a\":%" PRId32 ",\"b\":%.17g,\"c\":%" PRId64
                            ",\"d\":%.9g,\"e\":%s,\"f\":",
                            a, b, c, (double)d, e ? "true" : "false");
    p = json_string(p, f);
    sprintf(p, ",\"g\":%" PRIu32 ",\"h\":%" PRIu64 "}", g, h);
    return out;
}

static char *optional(int32_t x, int32_t y, const char *s) {
    char *out = counted_alloc(96);
    if (out != NULL)
        sprintf(out, "{\"x\":%" PRId32 ",\"y\":%" PRId32 ",\"s_is_null\":%s}", x, y,
                s == NULL ? "true" : "false");
    return out;
}

static int64_t live_strings(void) { return atomic_load(&live); }

static char *null_string(void) { return NULL; }

static char *bad_json(void) { return (char *)"{not json"; }

static int32_t fail(const char *message) {
    api->tool_error(NULL, message);
    return 0;
}

static void sleep_for_ms(uint32_t ms) {
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) /* interrupted: sleep the rest */
        ;
}

static uint32_t sleep_ms(uint32_t ms) {
    sleep_for_ms(ms);
    return ms;
}

static int32_t hang(void) {
    while (!atomic_load(&released))
        sleep_for_ms(10);
    return 0;
}

static int32_t unhang(void) {
    atomic_store(&released, true);
    return 0;
}

static char *concat_json(const char *args) {
    char *out = counted_alloc(strlen(args) + 16);
    if (out != NULL)
        sprintf(out, "{\"received\":%s}", args);
    return out;
}

static int64_t ts_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

#define PARAM(type) {{"v", type, 1, "the value"}}
static const aos_tool_param i32_param[] = PARAM(AOS_TYPE_INT32);
static const aos_tool_param i64_param[] = PARAM(AOS_TYPE_INT64);
static const aos_tool_param u32_param[] = PARAM(AOS_TYPE_UINT32);
static const aos_tool_param u64_param[] = PARAM(AOS_TYPE_UINT64);
static const aos_tool_param f64_param[] = PARAM(AOS_TYPE_DOUBLE);
static const aos_tool_param f32_param[] = PARAM(AOS_TYPE_FLOAT);
static const aos_tool_param bool_param[] = PARAM(AOS_TYPE_BOOL);
static const aos_tool_param str_param[] = {{"s", AOS_TYPE_STRING, 1, "the text"}};
static const aos_tool_param mixed_params[] = {
    {"a", AOS_TYPE_INT32, 1, NULL},  {"b", AOS_TYPE_DOUBLE, 1, NULL},
    {"c", AOS_TYPE_INT64, 1, NULL},  {"d", AOS_TYPE_FLOAT, 1, NULL},
    {"e", AOS_TYPE_BOOL, 1, NULL},   {"f", AOS_TYPE_STRING, 1, NULL},
    {"g", AOS_TYPE_UINT32, 1, NULL}, {"h", AOS_TYPE_UINT64, 1, NULL},
};
static const aos_tool_param optional_params[] = {
    {"x", AOS_TYPE_INT32, 1, "required"},
    {"y", AOS_TYPE_INT32, 0, "optional: 0 when absent"},
    {"s", AOS_TYPE_STRING, 0, "optional: NULL when absent"},
};
static const aos_tool_param message_param[] = {{"message", AOS_TYPE_STRING, 1, "the error"}};
static const aos_tool_param ms_param[] = {{"ms", AOS_TYPE_UINT32, 1, "milliseconds"}};
static const aos_tool_param add_params[] = {
    {"a", AOS_TYPE_INT64, 1, NULL},
    {"b", AOS_TYPE_INT64, 1, NULL},
};

#define TOOL(fn_, returns_, params_, flags_, free_)                                        \
    {.name = #fn_, .description = "Test fixture tool " #fn_ ".", .fn = AOS_TOOL_FN(fn_), \
     .returns = returns_, .flags = flags_,                                                \
     .n_params = sizeof params_ / sizeof params_[0], .params = params_, .free_result = free_}
#define NOARGS(fn_, returns_, flags_, free_)                                               \
    {.name = #fn_, .description = "Test fixture tool " #fn_ ".", .fn = AOS_TOOL_FN(fn_), \
     .returns = returns_, .flags = flags_, .free_result = free_}

static const aos_tool tooltypes_tools[] = {
    TOOL(echo_i32, AOS_TYPE_INT32, i32_param, 0, NULL),
    TOOL(echo_i64, AOS_TYPE_INT64, i64_param, 0, NULL),
    TOOL(echo_u32, AOS_TYPE_UINT32, u32_param, 0, NULL),
    TOOL(echo_u64, AOS_TYPE_UINT64, u64_param, 0, NULL),
    TOOL(echo_f64, AOS_TYPE_DOUBLE, f64_param, 0, NULL),
    TOOL(echo_f32, AOS_TYPE_FLOAT, f32_param, 0, NULL),
    TOOL(echo_bool, AOS_TYPE_BOOL, bool_param, 0, NULL),
    TOOL(echo_str, AOS_TYPE_STRING, str_param, 0, counted_free),
    TOOL(mixed, AOS_TYPE_JSON, mixed_params, 0, counted_free),
    TOOL(optional, AOS_TYPE_JSON, optional_params, 0, counted_free),
    NOARGS(live_strings, AOS_TYPE_INT64, 0, NULL),
    NOARGS(null_string, AOS_TYPE_STRING, 0, counted_free),
    NOARGS(bad_json, AOS_TYPE_JSON, 0, NULL),
    TOOL(fail, AOS_TYPE_INT32, message_param, 0, NULL),
    TOOL(sleep_ms, AOS_TYPE_UINT32, ms_param, 0, NULL),
    NOARGS(hang, AOS_TYPE_INT32, 0, NULL),
    NOARGS(unhang, AOS_TYPE_INT32, AOS_TOOL_THREAD_SAFE, NULL),
    {.name = "concat_json",
     .description = "Test fixture tool concat_json (a JSON tool).",
     .fn = AOS_TOOL_FN(concat_json),
     .returns = AOS_TYPE_JSON,
     .json_schema = "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
                    "{\"type\":\"string\"}},\"sep\":{\"type\":\"string\"}},\"required\":[\"items\"]}",
     .free_result = counted_free},
    TOOL(ts_add, AOS_TYPE_INT64, add_params, AOS_TOOL_THREAD_SAFE, NULL),
};

static aos_status tooltypes_init(aos_ctx *ctx, const aos_kernel_api *kernel_api,
                                 const char *config, void **state) {
    (void)ctx;
    (void)config;
    api = kernel_api;
    *state = NULL;
    return AOS_OK;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "tooltypes",
    .version = "0",
    .description = "Test fixture: tools of every parameter and result type, and tools that fail.",
    .capabilities = NULL,
    .init = tooltypes_init,
    .tools = tooltypes_tools,
    .n_tools = sizeof tooltypes_tools / sizeof tooltypes_tools[0],
};
