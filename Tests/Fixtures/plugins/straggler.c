/*
 * straggler.c — an agent whose thread outlives its instance.
 *
 * init starts a thread it never joins, which calls every syscall through the
 * instance's aos_ctx in a loop. Built with -z nodelete, so its code stays
 * mapped after the kernel closes the library: what the kernel must survive
 * is the stale handle. Once `log` reports AOS_ESTOPPING, the thread calls
 * every syscall once more, and a forged handle, and writes what each returned
 * as "name=status" lines to the file named by its config, then exits.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fixture.h"

struct straggler {
    aos_ctx *ctx;
    const aos_kernel_api *api;
    char path[512];
};

static void nap(void) {
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
}

static void report(struct straggler *s) {
    const aos_kernel_api *api = s->api;
    aos_ctx *ctx = s->ctx;
    aos_bytes empty = {NULL, 0};
    aos_buffer buffer = {NULL, 0};
    uint64_t value = 0;
    aos_self_info info = {0};
    aos_infer_request request = {0};
    aos_infer_result result = {0};
    const char *caps[] = {"infer"};
    FILE *out = fopen(s->path, "w");

    if (out == NULL)
        return;
    info.struct_size = sizeof info;
    request.struct_size = sizeof request;
    result.struct_size = sizeof result;
    fprintf(out, "log=%d\n", api->log(ctx, AOS_LOG_INFO, "after unload"));
    fprintf(out, "now=%d\n", api->now(ctx, AOS_CLOCK_MONOTONIC, &value));
    fprintf(out, "self=%d\n", api->self(ctx, &info));
    fprintf(out, "send=%d\n", api->send(ctx, "echo", empty, 0));
    fprintf(out, "call=%d\n", api->call(ctx, "echo", empty, 100, &buffer));
    fprintf(out, "reply=%d\n", api->reply(ctx, 1, empty));
    fprintf(out, "infer=%d\n", api->infer(ctx, &request, &result));
    fprintf(out, "infer_submit=%d\n", api->infer_submit(ctx, &request, &value));
    fprintf(out, "infer_cancel=%d\n", api->infer_cancel(ctx, 1));
    fprintf(out, "tool_call=%d\n", api->tool_call(ctx, "calculator.add", "{}", 100, &buffer));
    fprintf(out, "tools_list=%d\n", api->tools_list(ctx, NULL, &buffer));
    fprintf(out, "call_delegate=%d\n", api->call_delegate(ctx, "echo", empty, caps, 1, 100, &buffer));
    fprintf(out, "plugin_load=%d\n", api->plugin_load(ctx, "/nonexistent.so", NULL, NULL));
    fprintf(out, "plugin_unload=%d\n", api->plugin_unload(ctx, "echo"));
    fprintf(out, "forged=%d\n", api->log((aos_ctx *)(uintptr_t)0x7fffffff00000001u, AOS_LOG_INFO, "forged"));
    fprintf(out, "null=%d\n", api->log(NULL, AOS_LOG_INFO, "null"));
    fclose(out);
}

static void *straggle(void *argument) {
    struct straggler *s = argument;
    aos_bytes empty = {NULL, 0};
    uint64_t value = 0;

    /* While the instance runs, keep its syscalls busy from a foreign thread. */
    while (s->api->log(s->ctx, AOS_LOG_DEBUG, "straggling") != AOS_ESTOPPING) {
        s->api->now(s->ctx, AOS_CLOCK_MONOTONIC, &value);
        s->api->send(s->ctx, "echo", empty, 0);
        nap();
    }
    report(s);
    free(s);
    return NULL;
}

static aos_status straggler_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    struct straggler *s = calloc(1, sizeof *s);
    pthread_t thread;

    if (s == NULL)
        return AOS_ENOMEM;
    s->ctx = ctx;
    s->api = api;
    snprintf(s->path, sizeof s->path, "%s", config != NULL ? config : "");
    if (pthread_create(&thread, NULL, straggle, s) != 0) {
        free(s);
        return AOS_EINTERNAL;
    }
    pthread_detach(thread);
    *state = (void *)api;
    return AOS_OK;
}

static aos_status straggler_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    if (msg->flags & AOS_MSG_REQUEST) {
        aos_bytes body = {(const uint8_t *)"here", 4};
        return fixture_api(state)->reply(ctx, msg->id, body);
    }
    return AOS_OK;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "straggler",
    .version = "0",
    .description = "Test fixture: a thread that calls every syscall after its instance is unloaded.",
    .capabilities = NULL,
    .init = straggler_init,
    .on_message = straggler_on_message,
    .stop = NULL,
};
