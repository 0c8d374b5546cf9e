/*
 * toolbench.c — an agent that times the tool_call syscall from inside a plugin,
 * the way agents call tools.
 *
 * A request "N TOOL ARGS" calls TOOL with the JSON object ARGS N times and
 * replies {"bench":"tool_call","n":..,"errors":..,"mean_ns":..}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

static aos_status init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    (void)ctx;
    (void)config;
    *state = (void *)api;
    return AOS_OK;
}

static uint64_t now_ns(aos_ctx *ctx, const aos_kernel_api *api) {
    uint64_t ns = 0;
    api->now(ctx, AOS_CLOCK_MONOTONIC, &ns);
    return ns;
}

static aos_status on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = state;
    char text[1024], tool[128], reply[256];
    unsigned long long n = 0;
    int args = 0;

    size_t len = msg->body.len < sizeof text - 1 ? msg->body.len : sizeof text - 1;
    memcpy(text, msg->body.ptr, len);
    text[len] = '\0';
    if (sscanf(text, "%llu %127s %n", &n, tool, &args) != 2 || args == 0 || n == 0) {
        snprintf(reply, sizeof reply, "{\"error\":\"usage: N TOOL ARGS\"}");
    } else {
        uint64_t errors = 0;
        uint64_t start = now_ns(ctx, api);
        for (unsigned long long i = 0; i < n; i++) {
            aos_buffer result = {NULL, 0};
            if (api->tool_call(ctx, tool, text + args, 5000, &result) != AOS_OK)
                errors++;
            api->release(ctx, &result);
        }
        uint64_t total = now_ns(ctx, api) - start;
        snprintf(reply, sizeof reply, "{\"bench\":\"tool_call\",\"n\":%llu,\"errors\":%" PRIu64 ",\"mean_ns\":%.1f}",
                 n, errors, (double)total / (double)n);
    }
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;
    return api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)reply, strlen(reply)});
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "toolbench",
    .version = "1.0.0",
    .description = "Benchmark: times tool_call from an agent",
    .init = init,
    .on_message = on_message,
};
