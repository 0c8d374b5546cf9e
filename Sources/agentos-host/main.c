/*
 * agentos-host — runs one process-mode instance of a plugin.
 *
 * The kernel spawns it with its end of the channel as fd 3 and its returns
 * page as fd 4 (see HostChannel.h), stdout and stderr going to the
 * instance's host log (at most LOG_MAX_BYTES), and
 * three arguments: the memory limit in bytes and the CPU limit in seconds
 * (0 = none), and what its syscall filter allows (AOS_HOST_ALLOW_* bits).
 * It sandboxes itself (no_new_privs, rlimits, the seccomp filter of
 * syscall_filter.h, and once INIT names the plugin the Landlock ruleset of
 * file_confinement.h, all before the plugin is opened), dies with the
 * kernel, dlopens the plugin named by INIT and gives it an aos_kernel_api
 * whose syscalls become frames to the kernel. It runs the plugin on its main
 * thread only: a syscall from another thread returns AOS_EWRONGTHREAD.
 * A fatal signal sends one CRASH frame (signal, faulting address, pc and the
 * nearest symbol from dladdr) before the host dies of it.
 *
 * The kernel sends MESSAGE frames ahead (HostChannel.h): the host runs them
 * one at a time in the order they came, and counts each return in the
 * returns page (fd 4) before it starts the next handler, so the kernel knows
 * which one was running if the host dies. MESSAGE frames that arrive while a
 * syscall waits for its RESULT are kept, in order, until their turn.
 * At a hot reload, SAVE runs the old host's plugin's save and RESTORE the new
 * one's restore, each answered by a frame like INIT and STOP.
 */
#define _GNU_SOURCE
#include "HostChannel.h"
#include "file_confinement.h"
#include "syscall_filter.h"

#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

static aos_host_writer out;
static aos_host_inbox in; /* what the kernel sent and the host has not taken yet */
static aos_host_reader result; /* the last RESULT frame */
static char last_error_text[1024];
static pthread_t main_thread;
static struct aos_ctx_token { int unused; } ctx_token;
#define HOST_CTX ((aos_ctx *)&ctx_token)

static aos_host_returns *returns; /* the returns page (fd 4) */
static uint64_t returned;         /* MESSAGE handlers returned so far */

static int write_all(const uint8_t *data, size_t len) {
    while (len) {
        ssize_t n = send(AOS_HOST_FD, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The kernel went away or spoke nonsense: nothing more to do. */
static void lost(void) { _exit(0); }

static void send_frame(void) {
    size_t len = aos_host_writer_end(&out);
    if (!len || write_all(out.data, len) != 0) lost();
}

/* Takes the kernel's next frame (lent until the next call), receiving as much
 * as the socket holds when none is buffered: AOS_HOST_SPINS tries without
 * blocking, then a recv that sleeps (HostChannel.h). */
static uint32_t read_frame(aos_host_reader *r) {
    for (;;) {
        uint32_t type = 0, length = 0;
        int got = aos_host_inbox_next(&in, r, &type, &length);
        if (got == 1) return type;
        if (got < 0) lost();
        size_t room = 0;
        uint8_t *at = aos_host_inbox_space(&in, &room);
        if (!at) lost();
        ssize_t n = recv(AOS_HOST_FD, at, room, MSG_DONTWAIT);
        for (unsigned i = 1; i < AOS_HOST_SPINS && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK); i++) {
            sched_yield();
            n = recv(AOS_HOST_FD, at, room, MSG_DONTWAIT);
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = recv(AOS_HOST_FD, at, room, 0); /* sleep */
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) lost();
        in.end += (size_t)n;
    }
}

/* Counts a MESSAGE handler's return with its status in the returns page,
 * waking the kernel if it sleeps (HostChannel.h). */
static void count_return(aos_status status) {
    __atomic_store_n(&returns->status[returned % AOS_HOST_PIPELINE_MAX], (int32_t)status, __ATOMIC_RELAXED);
    returned += 1;
    __atomic_store_n(&returns->returned, returned, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&returns->kernel_sleeps, 0, __ATOMIC_SEQ_CST)) {
        aos_host_writer_begin(&out, AOS_HOST_WAKE);
        send_frame();
    }
}

/* ---- messages that came early ---- */

/* A MESSAGE payload received while a handler waited for a RESULT. */
typedef struct early_message {
    struct early_message *next;
    size_t len;
    uint8_t payload[];
} early_message;

static early_message *early_first, *early_last;

/* Keeps a copy of the MESSAGE payload in `r` for the main loop. */
static void keep_early(const aos_host_reader *r) {
    early_message *m = (early_message *)malloc(sizeof *m + r->len);
    if (!m) lost();
    m->next = NULL;
    m->len = r->len;
    if (r->len) memcpy(m->payload, r->data, r->len);
    if (early_last) early_last->next = m;
    else early_first = m;
    early_last = m;
}

/* Takes the oldest kept MESSAGE (the caller frees it), or NULL. */
static early_message *take_early(void) {
    early_message *m = early_first;
    if (m) {
        early_first = m->next;
        if (!early_first) early_last = NULL;
    }
    return m;
}

/* ---- syscalls as frames ---- */

static int on_main_thread(void) { return pthread_equal(pthread_self(), main_thread); }

/* Sends the SYSCALL frame built in `out`, reads its RESULT into `result`
 * (keeping the MESSAGE frames that come first): returns its status. */
static aos_status roundtrip(void) {
    send_frame();
    uint32_t type;
    while ((type = read_frame(&result)) == AOS_HOST_MESSAGE) keep_early(&result);
    if (type != AOS_HOST_RESULT) lost();
    aos_status status = (aos_status)aos_host_get_u32(&result);
    const char *error = aos_host_get_string(&result);
    if (result.bad) lost();
    snprintf(last_error_text, sizeof last_error_text, "%s", error ? error : "");
    return status;
}

static void begin(uint32_t number) {
    aos_host_writer_begin(&out, AOS_HOST_SYSCALL);
    aos_host_put_u32(&out, number);
}

/* Reads a bytes output into a buffer the plugin frees with api->release. */
static aos_status take_buffer(aos_status status, aos_buffer *buffer) {
    aos_bytes bytes = aos_host_get_bytes(&result);
    if (!aos_host_reader_done(&result)) lost();
    if (status != AOS_OK) return status;
    buffer->ptr = (uint8_t *)malloc(bytes.len ? bytes.len : 1);
    if (!buffer->ptr) return AOS_ENOMEM;
    if (bytes.len) memcpy(buffer->ptr, bytes.ptr, bytes.len);
    buffer->len = bytes.len;
    return AOS_OK;
}

#define MAIN_THREAD_ONLY() \
    do { if (!on_main_thread()) { snprintf(last_error_text, sizeof last_error_text, "a process-mode plugin calls the kernel from its main thread only"); return AOS_EWRONGTHREAD; } } while (0)

static aos_status sys_send(aos_ctx *ctx, const char *to, aos_bytes body, uint32_t timeout_ms) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!to || (!body.ptr && body.len)) return AOS_EINVAL;
    begin(AOS_HOST_SYS_SEND);
    aos_host_put_string(&out, to);
    aos_host_put_bytes(&out, body.ptr, body.len);
    aos_host_put_u32(&out, timeout_ms);
    aos_status status = roundtrip();
    if (!aos_host_reader_done(&result)) lost();
    return status;
}

static aos_status sys_call(aos_ctx *ctx, const char *to, aos_bytes body, uint32_t timeout_ms, aos_buffer *reply) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!to || !reply || (!body.ptr && body.len)) return AOS_EINVAL;
    reply->ptr = NULL;
    reply->len = 0;
    begin(AOS_HOST_SYS_CALL);
    aos_host_put_string(&out, to);
    aos_host_put_bytes(&out, body.ptr, body.len);
    aos_host_put_u32(&out, timeout_ms);
    return take_buffer(roundtrip(), reply);
}

static aos_status sys_reply(aos_ctx *ctx, uint64_t request_id, aos_bytes body) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!body.ptr && body.len) return AOS_EINVAL;
    begin(AOS_HOST_SYS_REPLY);
    aos_host_put_u64(&out, request_id);
    aos_host_put_bytes(&out, body.ptr, body.len);
    aos_status status = roundtrip();
    if (!aos_host_reader_done(&result)) lost();
    return status;
}

static aos_status sys_log(aos_ctx *ctx, uint32_t level, const char *text) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!text) return AOS_EINVAL;
    begin(AOS_HOST_SYS_LOG);
    aos_host_put_u32(&out, level);
    aos_host_put_string(&out, text);
    aos_status status = roundtrip();
    if (!aos_host_reader_done(&result)) lost();
    return status;
}

static aos_status sys_now(aos_ctx *ctx, uint32_t clock, uint64_t *ns) {
    (void)ctx;
    if (!ns) return AOS_EINVAL;
    /* Both clocks are the machine's: read them here, without a round trip. */
    struct timespec ts;
    if (clock == AOS_CLOCK_REALTIME) clock_gettime(CLOCK_REALTIME, &ts);
    else if (clock == AOS_CLOCK_MONOTONIC) clock_gettime(CLOCK_MONOTONIC, &ts);
    else return AOS_EINVAL;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return AOS_OK;
}

static char self_name[128];

static aos_status sys_self(aos_ctx *ctx, aos_self_info *info) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!info || info->struct_size < sizeof(uint32_t) * 2 + sizeof(uint64_t) + sizeof(const char *)) return AOS_EINVAL;
    begin(AOS_HOST_SYS_SELF);
    aos_status status = roundtrip();
    uint64_t id = aos_host_get_u64(&result);
    const char *name = aos_host_get_string(&result);
    uint64_t max_bytes = aos_host_get_u64(&result);
    uint32_t capacity = aos_host_get_u32(&result);
    if (!aos_host_reader_done(&result) || !name) lost();
    if (status != AOS_OK) return status;
    snprintf(self_name, sizeof self_name, "%s", name);
    uint32_t size = info->struct_size < sizeof *info ? info->struct_size : (uint32_t)sizeof *info;
    aos_self_info full = {size, 0, id, self_name, max_bytes, capacity, 0};
    memcpy(info, &full, size);
    return AOS_OK;
}

static void sys_release(aos_ctx *ctx, aos_buffer *buffer) {
    (void)ctx;
    if (!buffer) return;
    free(buffer->ptr);
    buffer->ptr = NULL;
    buffer->len = 0;
}

static aos_status sys_tool_call(aos_ctx *ctx, const char *tool, const char *args_json, uint32_t timeout_ms, aos_buffer *res) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!tool || !args_json || !res) return AOS_EINVAL;
    res->ptr = NULL;
    res->len = 0;
    begin(AOS_HOST_SYS_TOOL_CALL);
    aos_host_put_string(&out, tool);
    aos_host_put_string(&out, args_json);
    aos_host_put_u32(&out, timeout_ms);
    return take_buffer(roundtrip(), res);
}

static aos_status sys_tools_list(aos_ctx *ctx, const char *pattern, aos_buffer *json) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!json) return AOS_EINVAL;
    json->ptr = NULL;
    json->len = 0;
    begin(AOS_HOST_SYS_TOOLS_LIST);
    aos_host_put_string(&out, pattern);
    return take_buffer(roundtrip(), json);
}

static aos_status simple_roundtrip(void) {
    aos_status status = roundtrip();
    if (!aos_host_reader_done(&result)) lost();
    return status;
}

static aos_status sys_tool_error(aos_ctx *ctx, const char *message) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!message) return AOS_EINVAL;
    begin(AOS_HOST_SYS_TOOL_ERROR);
    aos_host_put_string(&out, message);
    return simple_roundtrip();
}

static aos_status sys_plugin_load(aos_ctx *ctx, const char *path, const char *name, const char *config) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!path) return AOS_EINVAL;
    begin(AOS_HOST_SYS_PLUGIN_LOAD);
    aos_host_put_string(&out, path);
    aos_host_put_string(&out, name);
    aos_host_put_string(&out, config);
    return simple_roundtrip();
}

static aos_status sys_plugin_unload(aos_ctx *ctx, const char *name) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!name) return AOS_EINVAL;
    begin(AOS_HOST_SYS_PLUGIN_UNLOAD);
    aos_host_put_string(&out, name);
    return simple_roundtrip();
}

static aos_status sys_infer_cancel(aos_ctx *ctx, uint64_t request_id) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    begin(AOS_HOST_SYS_INFER_CANCEL);
    aos_host_put_u64(&out, request_id);
    return simple_roundtrip();
}

static aos_status own_copy(aos_bytes bytes, aos_buffer *buffer);

static aos_status sys_kv_get(aos_ctx *ctx, const char *ns, const char *key, aos_buffer *value, uint64_t *version) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!key || !value) return AOS_EINVAL;
    value->ptr = NULL;
    value->len = 0;
    begin(AOS_HOST_SYS_KV_GET);
    aos_host_put_string(&out, ns);
    aos_host_put_string(&out, key);
    aos_status status = roundtrip();
    aos_bytes bytes = aos_host_get_bytes(&result);
    uint64_t got = aos_host_get_u64(&result);
    if (!aos_host_reader_done(&result)) lost();
    if (status != AOS_OK) return status;
    if (version) *version = got;
    return own_copy(bytes, value);
}

static aos_status sys_kv_put(aos_ctx *ctx, const char *ns, const char *key, aos_bytes value, uint64_t expected_version,
                             uint64_t *new_version) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!key || (!value.ptr && value.len)) return AOS_EINVAL;
    begin(AOS_HOST_SYS_KV_PUT);
    aos_host_put_string(&out, ns);
    aos_host_put_string(&out, key);
    aos_host_put_bytes(&out, value.ptr, value.len);
    aos_host_put_u64(&out, expected_version);
    aos_status status = roundtrip();
    uint64_t version = aos_host_get_u64(&result);
    if (!aos_host_reader_done(&result)) lost();
    if (status == AOS_OK && new_version) *new_version = version;
    return status;
}

static aos_status sys_kv_delete(aos_ctx *ctx, const char *ns, const char *key, uint64_t expected_version) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!key) return AOS_EINVAL;
    begin(AOS_HOST_SYS_KV_DELETE);
    aos_host_put_string(&out, ns);
    aos_host_put_string(&out, key);
    aos_host_put_u64(&out, expected_version);
    return simple_roundtrip();
}

static aos_status sys_kv_list(aos_ctx *ctx, const char *ns, const char *prefix, const char *after, uint32_t limit,
                              aos_buffer *json) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!json) return AOS_EINVAL;
    json->ptr = NULL;
    json->len = 0;
    begin(AOS_HOST_SYS_KV_LIST);
    aos_host_put_string(&out, ns);
    aos_host_put_string(&out, prefix);
    aos_host_put_string(&out, after);
    aos_host_put_u32(&out, limit);
    return take_buffer(roundtrip(), json);
}

/* Writes `request` as a REQUEST (HostChannel.h); fields past its struct_size are 0. Returns AOS_OK or AOS_EINVAL. */
#define REQUEST_HAS(request, field) \
    ((request)->struct_size >= offsetof(aos_infer_request, field) + sizeof((request)->field))

static aos_status put_strings(const char *const *list, uint32_t count) {
    if (count && !list) return AOS_EINVAL;
    aos_host_put_u32(&out, count);
    for (uint32_t i = 0; i < count; i++) {
        if (!list[i]) return AOS_EINVAL;
        aos_host_put_string(&out, list[i]);
    }
    return AOS_OK;
}

static aos_status put_infer_request(const aos_infer_request *q) {
    if (!q || !REQUEST_HAS(q, max_tokens) || q->n_messages == 0 || !q->messages) return AOS_EINVAL;
    aos_host_put_u32(&out, q->n_messages);
    for (uint32_t i = 0; i < q->n_messages; i++) {
        if (!q->messages[i].role || !q->messages[i].content) return AOS_EINVAL;
        aos_host_put_string(&out, q->messages[i].role);
        aos_host_put_string(&out, q->messages[i].content);
    }
    aos_host_put_u32(&out, q->max_tokens);
    uint32_t bits = 0;
    float temperature = REQUEST_HAS(q, temperature) ? q->temperature : 0, top_p = REQUEST_HAS(q, top_p) ? q->top_p : 0;
    memcpy(&bits, &temperature, sizeof bits);
    aos_host_put_u32(&out, bits);
    memcpy(&bits, &top_p, sizeof bits);
    aos_host_put_u32(&out, bits);
    aos_host_put_u32(&out, REQUEST_HAS(q, priority) ? (uint32_t)q->priority : 0);
    aos_host_put_u64(&out, REQUEST_HAS(q, seed) ? q->seed : 0);
    int has_stop = REQUEST_HAS(q, n_stop);
    if (put_strings(has_stop ? q->stop : NULL, has_stop ? q->n_stop : 0) != AOS_OK) return AOS_EINVAL;
    aos_host_put_string(&out, REQUEST_HAS(q, grammar) ? q->grammar : NULL);
    aos_host_put_string(&out, REQUEST_HAS(q, json_schema) ? q->json_schema : NULL);
    int has_tools = REQUEST_HAS(q, n_tools);
    if (put_strings(has_tools ? q->tools : NULL, has_tools ? q->n_tools : 0) != AOS_OK) return AOS_EINVAL;
    aos_host_put_u32(&out, REQUEST_HAS(q, tool_choice) ? q->tool_choice : 0);
    aos_host_put_u32(&out, REQUEST_HAS(q, max_steps) ? q->max_steps : 0);
    aos_host_put_string(&out, REQUEST_HAS(q, session) ? q->session : NULL);
    aos_host_put_u32(&out, REQUEST_HAS(q, session_policy) ? q->session_policy : 0);
    aos_host_put_u32(&out, REQUEST_HAS(q, session_busy) ? q->session_busy : 0);
    return AOS_OK;
}

/* Copies `bytes` into a buffer the plugin releases with api->release. */
static aos_status own_copy(aos_bytes bytes, aos_buffer *buffer) {
    buffer->ptr = (uint8_t *)malloc(bytes.len ? bytes.len : 1);
    buffer->len = 0;
    if (!buffer->ptr) return AOS_ENOMEM;
    if (bytes.len) memcpy(buffer->ptr, bytes.ptr, bytes.len);
    buffer->len = bytes.len;
    return AOS_OK;
}

#define RESULT_HAS(result, field) \
    ((result)->struct_size >= offsetof(aos_infer_result, field) + sizeof((result)->field))

/* Reads a RESULT from `r` into `full` (text and trace lent from the frame). */
static void get_infer_result(aos_host_reader *r, aos_infer_result *full) {
    memset(full, 0, sizeof *full);
    full->struct_size = sizeof *full;
    full->status = (aos_status)aos_host_get_u32(r);
    full->request_id = aos_host_get_u64(r);
    full->finish_reason = aos_host_get_u32(r);
    aos_bytes text = aos_host_get_bytes(r);
    full->usage.prompt_tokens = aos_host_get_u32(r);
    full->usage.completion_tokens = aos_host_get_u32(r);
    full->usage.queue_ns = aos_host_get_u64(r);
    full->usage.ttft_ns = aos_host_get_u64(r);
    full->usage.total_ns = aos_host_get_u64(r);
    aos_bytes trace = aos_host_get_bytes(r);
    full->cached_tokens = aos_host_get_u32(r);
    full->text.ptr = (uint8_t *)text.ptr;
    full->text.len = text.len;
    full->trace.ptr = trace.len ? (uint8_t *)trace.ptr : NULL;
    full->trace.len = trace.len;
}

static aos_status sys_infer(aos_ctx *ctx, const aos_infer_request *q, aos_infer_result *res) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!res || res->struct_size < offsetof(aos_infer_result, usage) + sizeof res->usage) return AOS_EINVAL;
    begin(AOS_HOST_SYS_INFER);
    if (put_infer_request(q) != AOS_OK) return AOS_EINVAL;
    aos_status status = roundtrip();
    aos_infer_result full;
    get_infer_result(&result, &full);
    if (!aos_host_reader_done(&result)) lost();
    /* Copy what the caller's struct covers; text and trace become its own buffers. */
    uint32_t size = res->struct_size < sizeof full ? res->struct_size : (uint32_t)sizeof full;
    aos_infer_result copy = full;
    copy.struct_size = size;
    copy.text.ptr = NULL;
    copy.text.len = 0;
    copy.trace.ptr = NULL;
    copy.trace.len = 0;
    if (status == AOS_OK) {
        if (own_copy((aos_bytes){full.text.ptr, full.text.len}, &copy.text) != AOS_OK) return AOS_ENOMEM;
        if (full.trace.ptr && RESULT_HAS(res, trace) && own_copy((aos_bytes){full.trace.ptr, full.trace.len}, &copy.trace) != AOS_OK) {
            free(copy.text.ptr);
            return AOS_ENOMEM;
        }
    }
    memcpy(res, &copy, size);
    return status;
}

/* The text comes back whole: on_token sees it as one piece (the channel carries no stream yet). */
static aos_status sys_infer_stream(aos_ctx *ctx, const aos_infer_request *q, aos_token_fn on_token, void *user,
                                   aos_infer_result *res) {
    if (!on_token) return AOS_EINVAL;
    aos_status status = sys_infer(ctx, q, res);
    if (status == AOS_OK && res->text.len) {
        /* A callback that says stop after the only piece changes nothing: the text is complete. */
        (void)on_token(user, (const char *)res->text.ptr, res->text.len);
    }
    return status;
}

static aos_status sys_infer_submit(aos_ctx *ctx, const aos_infer_request *q, uint64_t *id) {
    (void)ctx;
    MAIN_THREAD_ONLY();
    if (!id) return AOS_EINVAL;
    begin(AOS_HOST_SYS_INFER_SUBMIT);
    if (put_infer_request(q) != AOS_OK) return AOS_EINVAL;
    aos_status status = roundtrip();
    uint64_t got = aos_host_get_u64(&result);
    if (!aos_host_reader_done(&result)) lost();
    if (status == AOS_OK) *id = got;
    return status;
}

/* Not carried over the channel yet: the capabilities it lends are checked against the caller's thread in the kernel. */
static aos_status sys_call_delegate(aos_ctx *c, const char *to, aos_bytes b, const char *const *caps, size_t n, uint32_t t,
                                    aos_buffer *r) {
    (void)c; (void)to; (void)b; (void)caps; (void)n; (void)t; (void)r;
    snprintf(last_error_text, sizeof last_error_text,
             "call_delegate is not available to process-mode instances yet (load it with --isolation thread)");
    return AOS_EUNAVAIL;
}

static const char *sys_last_error(aos_ctx *ctx) {
    (void)ctx;
    return last_error_text;
}

static const aos_kernel_api api = {
    .struct_size = sizeof(aos_kernel_api),
    .abi_major = AOS_ABI_MAJOR,
    .abi_minor = AOS_ABI_MINOR,
    .send = sys_send,
    .call = sys_call,
    .reply = sys_reply,
    .log = sys_log,
    .now = sys_now,
    .self = sys_self,
    .release = sys_release,
    .infer = sys_infer,
    .infer_stream = sys_infer_stream,
    .infer_submit = sys_infer_submit,
    .infer_cancel = sys_infer_cancel,
    .tool_call = sys_tool_call,
    .tools_list = sys_tools_list,
    .tool_error = sys_tool_error,
    .call_delegate = sys_call_delegate,
    .plugin_load = sys_plugin_load,
    .plugin_unload = sys_plugin_unload,
    .last_error = sys_last_error,
    .kv_get = sys_kv_get,
    .kv_put = sys_kv_put,
    .kv_delete = sys_kv_delete,
    .kv_list = sys_kv_list,
};

/* ---- crashes ---- */

static uint8_t crash_frame[1024];

static void fatal_signal(int sig, siginfo_t *info, void *context) {
    uint64_t pc = 0;
#if defined(__x86_64__)
    pc = (uint64_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    pc = (uint64_t)((ucontext_t *)context)->uc_mcontext.pc;
#else
    (void)context;
#endif
    char symbol[400] = "?";
    Dl_info where;
    if (pc && dladdr((void *)(uintptr_t)pc, &where) && where.dli_fname) {
        const char *file = strrchr(where.dli_fname, '/');
        file = file ? file + 1 : where.dli_fname;
        if (where.dli_sname)
            snprintf(symbol, sizeof symbol, "%s+0x%lx (%s)", where.dli_sname,
                     (unsigned long)(pc - (uint64_t)(uintptr_t)where.dli_saddr), file);
        else
            snprintf(symbol, sizeof symbol, "%s+0x%lx", file, (unsigned long)(pc - (uint64_t)(uintptr_t)where.dli_fbase));
    }
    aos_host_writer w = {crash_frame, 0, sizeof crash_frame, 0, 0};
    aos_host_writer_begin(&w, AOS_HOST_CRASH);
    aos_host_put_u32(&w, (uint32_t)sig);
    aos_host_put_u64(&w, (uint64_t)(uintptr_t)info->si_addr);
    aos_host_put_u64(&w, pc);
    aos_host_put_string(&w, symbol);
    size_t len = aos_host_writer_end(&w);
    if (len) write_all(w.data, len);
    raise(sig); /* SA_RESETHAND: dies of the signal itself */
}

static void install_crash_handlers(void) {
    static uint8_t alternate_stack[64 * 1024];
    stack_t stack = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack, .ss_flags = 0};
    sigaltstack(&stack, NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaction(signals[i], &action, NULL);
}

/* ---- the sandbox ---- */

#define LOG_MAX_BYTES (16u << 20) /* the most the host's log file takes */

static void limit(int resource, const char *value) {
    unsigned long long v = strtoull(value, NULL, 10);
    if (!v) return;
    /* CPU: SIGXCPU at the soft limit names the cause; the hard one (SIGKILL) a second later, if it is caught. */
    struct rlimit l = {(rlim_t)v, (rlim_t)(resource == RLIMIT_CPU ? v + 1 : v)};
    setrlimit(resource, &l);
}

static void sandbox(int argc, char **argv) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the kernel's end goes, so does the host */
    if (getppid() == 1) _exit(0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (argc > 1) limit(RLIMIT_AS, argv[1]);
    if (argc > 2) limit(RLIMIT_CPU, argv[2]);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    /* Its log (stdout and stderr, a fresh file per host) stops growing at
     * LOG_MAX_BYTES: later writes fail with EFBIG instead of filling the disk. */
    struct rlimit log = {LOG_MAX_BYTES, LOG_MAX_BYTES};
    setrlimit(RLIMIT_FSIZE, &log);
    signal(SIGXFSZ, SIG_IGN);
    char why[160];
    uint32_t allow = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
    if (aos_host_filter_syscalls(allow, why, sizeof why) != 0) {
        fprintf(stderr, "agentos-host: %s; not running the plugin unconfined\n", why);
        _exit(1);
    }
}

/* The files the plugin may open, once INIT has named it and before its code runs. */
static void confine_files(const char *plugin, int argc, char **argv) {
    char why[200];
    uint32_t allow = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
    int rc = aos_host_confine_files(plugin, allow, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "agentos-host: %s; not running the plugin unconfined\n", why);
        _exit(1);
    }
    if (rc > 0) fprintf(stderr, "agentos-host: the plugin may open any file the kernel's user can: %s\n", why);
}

/* ---- running a message ---- */

/* Runs the plugin's on_message for the MESSAGE payload in `r`; returns its status. */
static aos_status handle_message(const aos_plugin_descriptor *descriptor, void *state, aos_host_reader *r) {
    aos_message message;
    memset(&message, 0, sizeof message);
    message.struct_size = sizeof message;
    message.flags = aos_host_get_u32(r);
    message.id = aos_host_get_u64(r);
    message.from = aos_host_get_string(r);
    message.body = aos_host_get_bytes(r);
    uint32_t has_result = aos_host_get_u32(r);
    aos_infer_result inference;
    if (has_result) get_infer_result(r, &inference);
    const char *session = aos_host_get_string(r);
    if (!aos_host_reader_done(r) || !message.from || has_result > 1) lost();
    /* The frame buffer is reused by syscalls: the message's strings and body must outlive them. */
    char *session_copy = session ? strdup(session) : NULL;
    if (session && !session_copy) lost();
    message.session = session_copy;
    char *from = strdup(message.from);
    uint8_t *body = (uint8_t *)malloc(message.body.len ? message.body.len : 1);
    if (!from || !body) lost();
    if (message.body.len) memcpy(body, message.body.ptr, message.body.len);
    message.from = from;
    message.body.ptr = body;
    /* The result's text and trace are lent for the call, like the kernel lends them. */
    uint8_t *text = NULL, *trace = NULL;
    if (has_result) {
        text = (uint8_t *)malloc(inference.text.len ? inference.text.len : 1);
        trace = inference.trace.ptr ? (uint8_t *)malloc(inference.trace.len ? inference.trace.len : 1) : NULL;
        if (!text || (inference.trace.ptr && !trace)) lost();
        if (inference.text.len) memcpy(text, inference.text.ptr, inference.text.len);
        if (trace && inference.trace.len) memcpy(trace, inference.trace.ptr, inference.trace.len);
        inference.text.ptr = text;
        inference.trace.ptr = trace;
        message.inference = &inference;
    }
    aos_status status = descriptor->on_message ? descriptor->on_message(HOST_CTX, state, &message) : AOS_OK;
    free(from);
    free(session_copy);
    free(body);
    free(text);
    free(trace);
    return status;
}

/* ---- a hot reload's state handoff ---- */

/* Runs the plugin's save and answers SAVED with its status and a copy of its
 * bytes, which it then frees (agentos.h: allocated with malloc). */
static void save_state(const aos_plugin_descriptor *descriptor, void *state) {
    aos_buffer saved = {NULL, 0};
    aos_status status = AOS_HOST_DESCRIPTOR_HAS(descriptor, save) ? descriptor->save(HOST_CTX, state, &saved) : AOS_OK;
    size_t len = status == AOS_OK && saved.ptr ? saved.len : 0; /* no bytes: nothing handed over, as in thread mode */
    /* The frame holds the status and the bytes' length besides the bytes. */
    if (len > AOS_HOST_FRAME_MAX - 2 * sizeof(uint32_t)) {
        status = AOS_ETOOBIG;
        len = 0;
    }
    aos_host_writer_begin(&out, AOS_HOST_SAVED);
    aos_host_put_u32(&out, (uint32_t)status);
    aos_host_put_bytes(&out, saved.ptr, len);
    free(saved.ptr);
    send_frame();
}

/* Runs the plugin's restore with the RESTORE payload in `r` and answers RETURN. */
static void restore_state(const aos_plugin_descriptor *descriptor, void *state, aos_host_reader *r) {
    aos_bytes lent = aos_host_get_bytes(r);
    if (!aos_host_reader_done(r)) lost();
    /* The frame buffer is reused by syscalls: the bytes must outlive them. */
    uint8_t *copy = (uint8_t *)malloc(lent.len ? lent.len : 1);
    if (!copy) lost();
    if (lent.len) memcpy(copy, lent.ptr, lent.len);
    aos_bytes saved = {copy, lent.len};
    aos_status status = AOS_HOST_DESCRIPTOR_HAS(descriptor, restore) ? descriptor->restore(HOST_CTX, state, saved) : AOS_OK;
    free(copy);
    aos_host_writer_begin(&out, AOS_HOST_RETURN);
    aos_host_put_u32(&out, (uint32_t)status);
    send_frame();
}

int main(int argc, char **argv) {
    sandbox(argc, argv);
    main_thread = pthread_self();
    install_crash_handlers();

    returns = (aos_host_returns *)mmap(NULL, AOS_HOST_RETURNS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, AOS_HOST_RETURNS_FD, 0);
    if (returns == MAP_FAILED) lost();
    close(AOS_HOST_RETURNS_FD);
    aos_host_reader r;
    if (read_frame(&r) != AOS_HOST_INIT) lost();
    const char *path = aos_host_get_string(&r);
    const char *config = aos_host_get_string(&r);
    if (!aos_host_reader_done(&r) || !path || !config) lost();
    char *config_copy = strdup(config);
    confine_files(path, argc, argv);

    const aos_plugin_descriptor *descriptor = NULL;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library) descriptor = (const aos_plugin_descriptor *)dlsym(library, AOS_PLUGIN_SYMBOL);
    aos_status status = AOS_EINTERNAL;
    void *state = NULL;
    if (!descriptor) {
        fprintf(stderr, "agentos-host: cannot open %s: %s\n", path, dlerror());
    } else if (descriptor->magic != AOS_PLUGIN_MAGIC || descriptor->abi_major != AOS_ABI_MAJOR) {
        status = AOS_EABI;
    } else {
        status = descriptor->init ? descriptor->init(HOST_CTX, &api, config_copy, &state) : AOS_OK;
    }
    free(config_copy);
    aos_host_writer_begin(&out, AOS_HOST_RETURN);
    aos_host_put_u32(&out, (uint32_t)status);
    send_frame();
    if (status != AOS_OK) return 1;

    for (;;) {
        early_message *early = take_early();
        uint32_t type = AOS_HOST_MESSAGE;
        if (early) r = (aos_host_reader){early->payload, early->len, 0, 0};
        else type = read_frame(&r);
        if (type == AOS_HOST_MESSAGE) {
            status = handle_message(descriptor, state, &r);
            free(early);
            count_return(status);
        } else if (type == AOS_HOST_SAVE) {
            if (!aos_host_reader_done(&r)) lost();
            save_state(descriptor, state);
        } else if (type == AOS_HOST_RESTORE) {
            restore_state(descriptor, state, &r);
        } else if (type == AOS_HOST_STOP) {
            if (descriptor->stop) descriptor->stop(HOST_CTX, state);
            aos_host_writer_begin(&out, AOS_HOST_RETURN);
            aos_host_put_u32(&out, AOS_OK);
            send_frame();
            return 0;
        } else {
            lost();
        }
    }
}
