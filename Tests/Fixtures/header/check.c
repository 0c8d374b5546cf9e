/*
 * check.c — proves that agentos.h is clean C11 and that what it defines works.
 *
 *   cc -std=c11 -Wall -Wextra -pedantic -Werror -I sdk/include \
 *      Tests/Fixtures/header/check.c -o check && ./check
 *
 * Compiling is the main check (with gcc and clang); running it also checks
 * the values: every macro, type and inline function of the header is used.
 * Prints each failed check and exits 1 if there was one.
 */
#include "agentos.h"

#include <stdio.h>
#include <string.h>

/* The handshake constants. */
_Static_assert(AOS_PLUGIN_MAGIC == 0x414F5350u, "magic spells AOSP");
_Static_assert(AOS_ABI_MAJOR == 1 && AOS_ABI_MINOR >= 0, "ABI 1.x");
_Static_assert((AOS_BUILD_ID & 0xFFu) == sizeof(void *) * 8u, "build id: pointer bits");

/* Field offsets are the ABI: appending is allowed, moving is not. */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(offsetof(aos_bytes, len) == 8, "aos_bytes");
_Static_assert(offsetof(aos_buffer, len) == 8, "aos_buffer");
_Static_assert(offsetof(aos_message, id) == 8 && offsetof(aos_message, from) == 16 &&
                   offsetof(aos_message, body) == 24,
               "aos_message");
_Static_assert(offsetof(aos_self_info, instance_id) == 8 && offsetof(aos_self_info, name) == 16,
               "aos_self_info");
_Static_assert(offsetof(aos_kernel_api, send) == 8 && offsetof(aos_kernel_api, release) == 56,
               "aos_kernel_api");
_Static_assert(offsetof(aos_plugin_descriptor, kind) == 16 &&
                   offsetof(aos_plugin_descriptor, name) == 24 &&
                   offsetof(aos_plugin_descriptor, capabilities) == 48 &&
                   offsetof(aos_plugin_descriptor, init) == 56 &&
                   offsetof(aos_plugin_descriptor, stop) == 72,
               "aos_plugin_descriptor");
/* ABI 1.2's tool arrays: the strides of plugins that give no element size. */
_Static_assert(sizeof(aos_tool) == 64 && sizeof(aos_tool_param) == 24, "ABI 1.2 tool sizes");
/* ABI 1.4, appended: element sizes after the 1.3 descriptor, last_error after plugin_unload. */
_Static_assert(offsetof(aos_plugin_descriptor, tool_size) == 96 &&
                   offsetof(aos_plugin_descriptor, param_size) == 100 &&
                   offsetof(aos_plugin_descriptor, runtime) == 104,
               "aos_plugin_descriptor 1.4");
/* ABI 1.6, appended: the plugin's language runtime. */
_Static_assert(offsetof(aos_plugin_descriptor, save) == 112, "aos_plugin_descriptor 1.6");
/* ABI 1.12, appended: hot reload's state handoff. */
_Static_assert(offsetof(aos_plugin_descriptor, restore) == 120 && sizeof(aos_plugin_descriptor) == 128,
               "aos_plugin_descriptor 1.12");
_Static_assert(offsetof(aos_kernel_api, plugin_unload) == 136 &&
                   offsetof(aos_kernel_api, last_error) == 144,
               "aos_kernel_api 1.4");
/* ABI 1.7, appended: storage. */
_Static_assert(offsetof(aos_kernel_api, kv_get) == 152 && offsetof(aos_kernel_api, kv_list) == 176 &&
                   sizeof(aos_kernel_api) == 184,
               "aos_kernel_api 1.7");
/* ABI 1.10, appended: sessions on the inference request and the message. */
_Static_assert(offsetof(aos_infer_request, reserved2) == 92 && offsetof(aos_infer_request, session) == 96 &&
                   offsetof(aos_infer_request, session_policy) == 104 && offsetof(aos_infer_request, session_busy) == 108 &&
                   sizeof(aos_infer_request) == 112,
               "aos_infer_request 1.10");
_Static_assert(offsetof(aos_message, inference) == 40 && offsetof(aos_message, session) == 48 &&
                   sizeof(aos_message) == 56,
               "aos_message 1.10");
/* ABI 1.11, appended: a tool flag; the flags stay distinct bits. */
_Static_assert(AOS_TOOL_NEEDS_APPROVAL == 0x2u && (AOS_TOOL_NEEDS_APPROVAL & AOS_TOOL_THREAD_SAFE) == 0, "aos_tool.flags 1.11");
#endif

static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

/* A fake kernel: enough of the table to drive the plugin below. */
static char last_log[64];

static aos_status fake_log(aos_ctx *ctx, uint32_t level, const char *text) {
    (void)ctx;
    if (level != AOS_LOG_DEBUG && level != AOS_LOG_INFO && level != AOS_LOG_WARN &&
        level != AOS_LOG_ERROR)
        return AOS_EINVAL;
    snprintf(last_log, sizeof last_log, "%s", text);
    return AOS_OK;
}

static aos_status fake_now(aos_ctx *ctx, uint32_t clock, uint64_t *ns) {
    (void)ctx;
    *ns = clock == AOS_CLOCK_REALTIME ? 1u : clock == AOS_CLOCK_MONOTONIC ? 2u : 0u;
    return *ns != 0 ? AOS_OK : AOS_EINVAL;
}

static aos_status fake_self(aos_ctx *ctx, aos_self_info *info) {
    (void)ctx;
    if (info == NULL || info->struct_size < sizeof *info)
        return AOS_EINVAL;
    info->instance_id = 7;
    info->name = "checker";
    return AOS_OK;
}

static void fake_release(aos_ctx *ctx, aos_buffer *buffer) {
    (void)ctx;
    *buffer = (aos_buffer){NULL, 0};
}

/* A plugin, declared the way the SDK tells C authors to. */
static aos_status plugin_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                              void **state) {
    (void)config;
    *state = (void *)api;
    return api->log(ctx, AOS_LOG_INFO, "init");
}

static aos_status plugin_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = state;
    aos_self_info self = {.struct_size = sizeof self};
    uint64_t now = 0;

    if (api->self(ctx, &self) != AOS_OK || api->now(ctx, AOS_CLOCK_MONOTONIC, &now) != AOS_OK)
        return AOS_EINTERNAL;
    if (!AOS_API_HAS(api, reply))
        return AOS_OK; /* an older kernel: answer nothing */
    return (msg->flags & AOS_MSG_REQUEST) ? AOS_ENOTFOUND : AOS_OK;
}

static void plugin_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    (void)state;
}

static const char *const plugin_capabilities[] = {"send:echo", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "check",
    .version = "1",
    .description = "header check",
    .capabilities = plugin_capabilities,
    .init = plugin_init,
    .on_message = plugin_on_message,
    .stop = plugin_stop,
};

static void check_statuses(void) {
    static const struct {
        aos_status code;
        const char *name;
    } table[] = {
        {AOS_OK, "AOS_OK"},
        {AOS_EINVAL, "AOS_EINVAL"},
        {AOS_ENOTFOUND, "AOS_ENOTFOUND"},
        {AOS_EFULL, "AOS_EFULL"},
        {AOS_ETIMEDOUT, "AOS_ETIMEDOUT"},
        {AOS_ESTOPPING, "AOS_ESTOPPING"},
        {AOS_EPERM, "AOS_EPERM"},
        {AOS_EQUOTA, "AOS_EQUOTA"},
        {AOS_EABI, "AOS_EABI"},
        {AOS_EINTERNAL, "AOS_EINTERNAL"},
        {AOS_ETOOBIG, "AOS_ETOOBIG"},
        {AOS_EEXIST, "AOS_EEXIST"},
        {AOS_ENOMEM, "AOS_ENOMEM"},
        {AOS_EWRONGTHREAD, "AOS_EWRONGTHREAD"},
        {AOS_ECANCELLED, "AOS_ECANCELLED"},
        {AOS_EHANDLER, "AOS_EHANDLER"},
        {AOS_EUNAVAIL, "AOS_EUNAVAIL"},
        {AOS_ETOOL, "AOS_ETOOL"},
        {AOS_ELOOP, "AOS_ELOOP"},
        {AOS_ECONFLICT, "AOS_ECONFLICT"},
        {AOS_ESTORAGE, "AOS_ESTORAGE"},
        {AOS_ECRASHED, "AOS_ECRASHED"},
        {AOS_EUNREACHABLE, "AOS_EUNREACHABLE"},
        {AOS_EAMBIGUOUS, "AOS_EAMBIGUOUS"},
    };
    const size_t count = sizeof table / sizeof table[0];

    for (size_t i = 0; i < count; i++) {
        check(table[i].code == -(aos_status)i, "status codes run 0, -1, -2, ... in order");
        check(strcmp(aos_status_name(table[i].code), table[i].name) == 0, table[i].name);
        check(strcmp(aos_status_message(table[i].code), "unknown status") != 0, table[i].name);
    }
    check(strcmp(aos_status_name(-(aos_status)count), "AOS_E?") == 0, "unknown code's name");
    check(strcmp(aos_status_message(1), "unknown status") == 0, "unknown code's message");
}

static void check_api_has(void) {
    aos_kernel_api api = {.struct_size = sizeof api};
    const aos_kernel_api *p = &api;

    check(AOS_API_HAS(p, send) && AOS_API_HAS(p, call) && AOS_API_HAS(p, reply) &&
              AOS_API_HAS(p, log) && AOS_API_HAS(p, now) && AOS_API_HAS(p, self) &&
              AOS_API_HAS(p, release),
          "a full table has every field");
    api.struct_size = (uint32_t)offsetof(aos_kernel_api, reply);
    check(AOS_API_HAS(p, call) && !AOS_API_HAS(p, reply), "a short table lacks its tail");
    api.struct_size = (uint32_t)offsetof(aos_kernel_api, last_error);
    check(AOS_API_HAS(p, plugin_unload) && !AOS_API_HAS(p, last_error), "a 1.3 table lacks last_error");
}

static void check_plugin(void) {
    const aos_plugin_descriptor *d = &aos_plugin;
    aos_kernel_api api = {
        .struct_size = sizeof api,
        .abi_major = AOS_ABI_MAJOR,
        .abi_minor = AOS_ABI_MINOR,
        .log = fake_log,
        .now = fake_now,
        .self = fake_self,
        .release = fake_release,
    };
    aos_ctx *ctx = NULL; /* opaque: only the kernel makes one */
    void *state = NULL;

    check(d->magic == AOS_PLUGIN_MAGIC && d->abi_major == AOS_ABI_MAJOR &&
              d->abi_minor == AOS_ABI_MINOR && d->struct_size == sizeof *d &&
              d->build_id == aos_build_id() && d->build_id == AOS_BUILD_ID,
          "AOS_PLUGIN_HEADER fills the handshake");
    check(d->tool_size == sizeof(aos_tool) && d->param_size == sizeof(aos_tool_param),
          "AOS_PLUGIN_HEADER fills the element sizes");
    check(d->kind == AOS_KIND_AGENT && AOS_KIND_TOOL != AOS_KIND_AGENT, "kinds");
    check(strcmp(AOS_PLUGIN_SYMBOL, "aos_plugin") == 0, "AOS_PLUGIN_SYMBOL");
    check(d->init(ctx, &api, "", &state) == AOS_OK && strcmp(last_log, "init") == 0, "init");

    uint8_t body[] = {'h', 'i'};
    aos_message msg = {
        .struct_size = sizeof msg,
        .flags = 0,
        .id = 1,
        .from = "agentctl",
        .body = {body, sizeof body},
    };
    check(d->on_message(ctx, state, &msg) == AOS_OK, "on_message, plain");
    msg.flags = AOS_MSG_REQUEST;
    check(d->on_message(ctx, state, &msg) == AOS_ENOTFOUND, "on_message, request");

    aos_buffer buffer = {body, sizeof body};
    api.release(ctx, &buffer);
    check(buffer.ptr == NULL && buffer.len == 0, "release");
    uint64_t now = 0;
    check(api.now(ctx, AOS_CLOCK_REALTIME, &now) == AOS_OK && now == 1, "clocks");
    check(api.log(ctx, 0, "x") == AOS_EINVAL, "log levels");
    d->stop(ctx, state);
}

int main(void) {
    check_statuses();
    check_api_has();
    check_plugin();
    if (failures == 0)
        printf("agentos.h: all checks passed (C)\n");
    return failures == 0 ? 0 : 1;
}
