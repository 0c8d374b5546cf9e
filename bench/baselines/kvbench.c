/*
 * kvbench.c — an agent that times the storage syscalls from inside a plugin.
 *
 * A request "put N SIZE" stores N keys "kN" of SIZE bytes each in its own
 * namespace with kv_put; "get N" reads them back with kv_get. Replies
 * {"bench":"put"|"get","n":..,"errors":..,"mean_ns":..}.
 */
#include <inttypes.h>
#include <stdbool.h>
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
    char text[128], op[8], reply[256];
    unsigned long long n = 0, size = 0;

    size_t len = msg->body.len < sizeof text - 1 ? msg->body.len : sizeof text - 1;
    memcpy(text, msg->body.ptr, len);
    text[len] = '\0';
    int fields = sscanf(text, "%7s %llu %llu", op, &n, &size);
    uint8_t *value = malloc(size + 1);
    if (fields < 2 || n == 0 || value == NULL || (strcmp(op, "put") != 0 && strcmp(op, "get") != 0)) {
        snprintf(reply, sizeof reply, "{\"error\":\"usage: put N SIZE | get N\"}");
    } else {
        memset(value, 'v', size);
        uint64_t errors = 0;
        bool put = strcmp(op, "put") == 0;
        uint64_t start = now_ns(ctx, api);
        for (unsigned long long i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "k%llu", i);
            if (put) {
                aos_bytes bytes = {value, size};
                errors += api->kv_put(ctx, NULL, key, bytes, AOS_KV_ANY_VERSION, NULL) != AOS_OK;
            } else {
                aos_buffer got = {NULL, 0};
                errors += api->kv_get(ctx, NULL, key, &got, NULL) != AOS_OK;
                api->release(ctx, &got);
            }
        }
        uint64_t total = now_ns(ctx, api) - start;
        snprintf(reply, sizeof reply, "{\"bench\":\"%s\",\"n\":%llu,\"errors\":%" PRIu64 ",\"mean_ns\":%.1f}", op, n, errors,
                 (double)total / (double)n);
    }
    free(value);
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;
    aos_bytes body = {(const uint8_t *)reply, strlen(reply)};
    return api->reply(ctx, msg->id, body);
}

static const char *const requested[] = {"kv", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "kvbench",
    .version = "1.0.0",
    .description = "Benchmark agent: times kv_put and kv_get",
    .capabilities = requested,
    .init = init,
    .on_message = on_message,
};
