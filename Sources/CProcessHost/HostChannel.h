/*
 * HostChannel.h — the wire between the kernel and an `agentos-host` process.
 *
 * One SOCK_STREAM Unix socket pair per process-mode instance; the host's end
 * is its fd 3. Every frame is an 8-byte header {uint32 payload length,
 * uint32 type} in host byte order (both ends run on one machine) followed by
 * the payload: a sequence of fields, each a uint32, a uint64, or bytes
 * (uint32 length, then the bytes; a string is bytes whose last byte is its
 * NUL, length AOS_HOST_NULL for a NULL string). The kernel reads every frame
 * the host sends as untrusted input: an unknown type, a field that runs past
 * the payload, a string without its NUL or with one inside, trailing bytes,
 * or a length over AOS_HOST_FRAME_MAX ends the host (it is killed and
 * treated as crashed).
 *
 * Each side receives with large reads into an aos_host_inbox (below) and
 * takes whole frames from it, so no frame costs more than one recv.
 *
 * Each call is a conversation like a call stack: the kernel sends INIT,
 * MESSAGE, SAVE, RESTORE or STOP; the host answers with any number of
 * SYSCALL frames (each answered by one RESULT) and then returns: for INIT,
 * RESTORE and STOP a RETURN frame, for SAVE a SAVED frame, for a MESSAGE an
 * entry in the returns page (below). A host may send CRASH just before it
 * dies (from its fatal-signal handler).
 *
 * SAVE and RESTORE carry a hot reload's state handoff (agentos.h, ABI 1.12):
 * SAVE runs the plugin's save after its last message, and SAVED carries its
 * status and the bytes it made (empty: none; the host copies and frees the
 * plugin's buffer; bytes that would not fit in a frame are answered
 * AOS_ETOOBIG); RESTORE hands the new host's plugin those bytes before its
 * first message. The kernel sends them only when the plugin's descriptor
 * has that callback (AOS_HOST_DESCRIPTOR_HAS); a host whose plugin has none
 * answers AOS_OK (SAVED with no bytes).
 *
 * The returns page is a page of shared memory (a sealed memfd, the host's
 * fd 4, new for each host) where the host counts the MESSAGE handlers that
 * returned and keeps their statuses: one store per message instead of a
 * frame, so a flood of messages costs the host no write per message, and
 * what the host did is known even when it is killed before it could say so.
 * The kernel reads the page as untrusted input too: a count that goes back
 * or past the MESSAGE frames sent ends the host. A kernel about to sleep
 * sets `kernel_sleeps` and checks the count again; a host that finds the
 * flag set after counting clears it and sends WAKE, so neither waits for
 * the other and no count is missed. A WAKE may come when nothing is awaited
 * (the kernel saw the count first) and means nothing then.
 *
 * Both sides try to receive without blocking AOS_HOST_SPINS times, yielding
 * the CPU between tries, before they sleep: the other side of a conversation
 * mostly answers within a few µs, sooner than a sleeping thread is woken
 * (tens of µs on a VM), and a side left idle still sleeps after those tries.
 *
 * MESSAGE frames are pipelined: the kernel may send up to
 * AOS_HOST_PIPELINE_MAX of them (and about AOS_HOST_PIPELINE_BYTES) before
 * their returns come. The host still runs one handler at a time, in the
 * order the frames came, and counts each return as soon as its handler
 * returns; a MESSAGE that arrives while it waits for a RESULT is queued.
 * So the SYSCALL frames sent while the page counts n returns belong to the
 * (n+1)-th MESSAGE, and when the host dies, that one was running and the
 * later ones never started. INIT, SAVE, RESTORE and STOP are sent only when
 * no MESSAGE is unanswered. Neither side blocks on a write while the other
 * may be blocked writing: the host reads all the while it waits for a
 * RESULT, and the kernel reads (and keeps) what the host sends whenever its
 * own write would block.
 */
#ifndef AGENTOS_HOST_CHANNEL_H
#define AGENTOS_HOST_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

#define AOS_HOST_FD 3                      /* the host's end of the socket pair */
#define AOS_HOST_RETURNS_FD 4              /* the host's returns page */
#define AOS_HOST_SPINS 64u                 /* tries to receive without blocking before a side sleeps */
#define AOS_HOST_FRAME_MAX ((16u << 20) + 65536u) /* largest payload either side accepts */
#define AOS_HOST_NULL 0xFFFFFFFFu          /* the length of a NULL string */
#define AOS_HOST_PIPELINE_MAX 64u          /* MESSAGE frames the kernel sends ahead of their RETURNs at most */
#define AOS_HOST_PIPELINE_BYTES (1u << 20) /* bytes of them in flight before it waits (one larger frame may go alone) */

/* kernel → host */
#define AOS_HOST_INIT    1u /* bytes plugin path, string config */
#define AOS_HOST_MESSAGE 2u /* u32 flags, u64 id, string from, bytes body, u32 has result, [RESULT], string session */
#define AOS_HOST_STOP    3u /* (empty) */
#define AOS_HOST_RESULT  4u /* i32 status, string last_error, then the syscall's outputs */
#define AOS_HOST_SAVE    5u /* (empty) → SAVED */
#define AOS_HOST_RESTORE 6u /* bytes state → RETURN */
/* host → kernel */
#define AOS_HOST_SYSCALL 16u /* u32 number, then the syscall's arguments */
#define AOS_HOST_RETURN  17u /* i32 status of init / restore / stop */
#define AOS_HOST_CRASH   18u /* u32 signal, u64 faulting address, u64 pc, string symbol */
#define AOS_HOST_WAKE    19u /* (empty) the returns page counted a return while the kernel slept */
#define AOS_HOST_SAVED   20u /* i32 status of save, bytes state (empty when none or not AOS_OK) */

/* True when descriptor `d` is long enough to hold `field` and sets it (the
 * struct_size rule of StateHandoff.swift's handoffSave). */
#define AOS_HOST_DESCRIPTOR_HAS(d, field) \
    ((d)->struct_size >= offsetof(aos_plugin_descriptor, field) + sizeof((d)->field) && (d)->field != NULL)

/* Syscall numbers (AOS_HOST_SYSCALL): arguments → outputs after status. */
#define AOS_HOST_SYS_SEND          1u  /* string to, bytes body, u32 timeout → */
#define AOS_HOST_SYS_CALL          2u  /* string to, bytes body, u32 timeout → bytes reply */
#define AOS_HOST_SYS_REPLY         3u  /* u64 request id, bytes body → */
#define AOS_HOST_SYS_LOG           4u  /* u32 level, string text → */
#define AOS_HOST_SYS_NOW           5u  /* u32 clock → u64 ns */
#define AOS_HOST_SYS_SELF          6u  /* → u64 id, string name, u64 max message bytes, u32 mailbox capacity */
#define AOS_HOST_SYS_TOOL_CALL     7u  /* string tool, string args, u32 timeout → bytes result */
#define AOS_HOST_SYS_TOOLS_LIST    8u  /* string pattern (or NULL) → bytes json */
#define AOS_HOST_SYS_TOOL_ERROR    9u  /* string message → */
#define AOS_HOST_SYS_PLUGIN_LOAD   10u /* string path, string name or NULL, string config or NULL → */
#define AOS_HOST_SYS_PLUGIN_UNLOAD 11u /* string name → */
#define AOS_HOST_SYS_INFER_CANCEL  12u /* u64 request id → */
#define AOS_HOST_SYS_INFER         13u /* REQUEST → RESULT */
#define AOS_HOST_SYS_INFER_SUBMIT  14u /* REQUEST → u64 request id */
#define AOS_HOST_SYS_KV_GET        15u /* string ns, string key → bytes value, u64 version */
#define AOS_HOST_SYS_KV_PUT        16u /* string ns, string key, bytes value, u64 expected version → u64 new version */
#define AOS_HOST_SYS_KV_DELETE     17u /* string ns, string key, u64 expected version → */
#define AOS_HOST_SYS_KV_LIST       18u /* string ns, string prefix, string after, u32 limit → bytes json */

/* REQUEST, an aos_infer_request: u32 n_messages, then per message string role and
 * string content; u32 max_tokens, u32 temperature and u32 top_p (float bits),
 * u32 priority, u64 seed, u32 n_stop and its strings, string grammar, string
 * json_schema, u32 n_tools and its strings, u32 tool_choice, u32 max_steps,
 * string session, u32 session_policy, u32 session_busy.
 * RESULT, an aos_infer_result: u32 status, u64 request id, u32 finish reason,
 * bytes text, u32 prompt tokens, u32 completion tokens, u64 queue, ttft and
 * total ns, bytes trace, u32 cached tokens. */

/* The returns page (see above). Statuses are aos_status values. */
typedef struct aos_host_returns {
    uint64_t returned;      /* host: MESSAGE handlers returned since it started (stored after their status) */
    uint32_t kernel_sleeps; /* kernel sets, host clears: the kernel may sleep until a WAKE */
    uint32_t unused;
    int32_t status[AOS_HOST_PIPELINE_MAX]; /* host: the status of return n at [n % AOS_HOST_PIPELINE_MAX] */
} aos_host_returns;

#define AOS_HOST_RETURNS_SIZE 4096u /* the page's size: a hostile host cannot shrink it (sealed) */

typedef struct aos_host_frame_header {
    uint32_t length;
    uint32_t type;
} aos_host_frame_header;

/* ---- writing a payload ---- */

typedef struct aos_host_writer {
    uint8_t *data; /* whole frames, then the one being written: header space first, then its payload */
    size_t len;
    size_t cap;
    int failed;   /* an allocation failed */
    size_t frame; /* where the frame being written begins */
} aos_host_writer;

static inline void aos_host_put(aos_host_writer *w, const void *bytes, size_t len);

/* Starts a frame of `type` after the frames `w` holds already (a batch sent with one write). */
static inline void aos_host_writer_append(aos_host_writer *w, uint32_t type) {
    w->frame = w->len;
    w->failed = 0;
    aos_host_frame_header header = {0, type};
    aos_host_put(w, &header, sizeof header);
}

/* Starts `w` over with one frame of `type`. */
static inline void aos_host_writer_begin(aos_host_writer *w, uint32_t type) {
    w->len = 0;
    aos_host_writer_append(w, type);
}

/* Takes back the frame being written (it could not be completed). */
static inline void aos_host_writer_drop(aos_host_writer *w) {
    w->len = w->frame;
    w->failed = 0;
}

static inline void aos_host_put(aos_host_writer *w, const void *bytes, size_t len) {
    if (w->failed) return;
    if (w->len + len > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + len) cap *= 2;
        uint8_t *grown = (uint8_t *)realloc(w->data, cap);
        if (!grown) { w->failed = 1; return; }
        w->data = grown;
        w->cap = cap;
    }
    if (len) memcpy(w->data + w->len, bytes, len);
    w->len += len;
}

static inline void aos_host_put_u32(aos_host_writer *w, uint32_t v) { aos_host_put(w, &v, sizeof v); }
static inline void aos_host_put_u64(aos_host_writer *w, uint64_t v) { aos_host_put(w, &v, sizeof v); }

static inline void aos_host_put_bytes(aos_host_writer *w, const void *ptr, size_t len) {
    if (len >= AOS_HOST_NULL) { w->failed = 1; return; }
    aos_host_put_u32(w, (uint32_t)len);
    aos_host_put(w, ptr, len);
}

static inline void aos_host_put_string(aos_host_writer *w, const char *s) {
    if (!s) { aos_host_put_u32(w, AOS_HOST_NULL); return; }
    aos_host_put_bytes(w, s, strlen(s) + 1);
}

/* Fills in the length of the frame being written; returns the size of all
 * the frames `w` holds, or 0 when this one cannot be sent. */
static inline size_t aos_host_writer_end(aos_host_writer *w) {
    if (w->failed || w->len - w->frame - sizeof(aos_host_frame_header) > AOS_HOST_FRAME_MAX) return 0;
    uint32_t length = (uint32_t)(w->len - w->frame - sizeof(aos_host_frame_header));
    memcpy(w->data + w->frame, &length, sizeof length);
    return w->len;
}

/* Writes RESULT (see above) for `result`, whose buffers the writer copies. */
static inline void aos_host_put_infer_result(aos_host_writer *w, const aos_infer_result *result) {
    aos_host_put_u32(w, (uint32_t)result->status);
    aos_host_put_u64(w, result->request_id);
    aos_host_put_u32(w, result->finish_reason);
    aos_host_put_bytes(w, result->text.ptr, result->text.ptr ? result->text.len : 0);
    aos_host_put_u32(w, result->usage.prompt_tokens);
    aos_host_put_u32(w, result->usage.completion_tokens);
    aos_host_put_u64(w, result->usage.queue_ns);
    aos_host_put_u64(w, result->usage.ttft_ns);
    aos_host_put_u64(w, result->usage.total_ns);
    aos_host_put_bytes(w, result->trace.ptr, result->trace.ptr ? result->trace.len : 0);
    aos_host_put_u32(w, result->cached_tokens);
}

/* ---- reading a payload (bounds-checked; any failure sets `bad`) ---- */

typedef struct aos_host_reader {
    const uint8_t *data;
    size_t len;
    size_t at;
    int bad;
} aos_host_reader;

static inline uint32_t aos_host_get_u32(aos_host_reader *r) {
    uint32_t v = 0;
    if (r->bad || r->len - r->at < sizeof v) { r->bad = 1; return 0; }
    memcpy(&v, r->data + r->at, sizeof v);
    r->at += sizeof v;
    return v;
}

static inline uint64_t aos_host_get_u64(aos_host_reader *r) {
    uint64_t v = 0;
    if (r->bad || r->len - r->at < sizeof v) { r->bad = 1; return 0; }
    memcpy(&v, r->data + r->at, sizeof v);
    r->at += sizeof v;
    return v;
}

static inline aos_bytes aos_host_get_bytes(aos_host_reader *r) {
    aos_bytes b = {NULL, 0};
    uint32_t len = aos_host_get_u32(r);
    if (r->bad || len == AOS_HOST_NULL || r->len - r->at < len) { r->bad = 1; return b; }
    b.ptr = r->data + r->at;
    b.len = len;
    r->at += len;
    return b;
}

/* A string lent from the payload: NUL-terminated, no NUL inside; NULL when sent as NULL. */
static inline const char *aos_host_get_string(aos_host_reader *r) {
    uint32_t len = aos_host_get_u32(r);
    if (r->bad) return NULL;
    if (len == AOS_HOST_NULL) return NULL;
    if (len == 0 || r->len - r->at < len) { r->bad = 1; return NULL; }
    const char *s = (const char *)(r->data + r->at);
    if (s[len - 1] != '\0' || memchr(s, '\0', len - 1) != NULL) { r->bad = 1; return NULL; }
    r->at += len;
    return s;
}

/* True when every byte was read and nothing was malformed. */
static inline int aos_host_reader_done(const aos_host_reader *r) { return !r->bad && r->at == r->len; }

/* ---- receiving: whole frames out of large reads ----
 *
 * Each side receives into one growing buffer as much as the socket holds and
 * takes every whole frame from it before it reads again, so a burst of frames
 * costs one recv, not two per frame. The length in a header is checked
 * against AOS_HOST_FRAME_MAX before any room is made for it. */

typedef struct aos_host_inbox {
    uint8_t *data;
    size_t cap;
    size_t start; /* the first byte not yet taken */
    size_t end;   /* one past the last byte received */
} aos_host_inbox;

#define AOS_HOST_INBOX_MIN 4096u /* the least room offered to one recv */

/* Takes the next whole frame when it is buffered: returns 1 with its type and
 * its payload in `r` (lent until the next call on `in`), 0 when more bytes are
 * needed, or -1 when its header announces more than AOS_HOST_FRAME_MAX bytes
 * (`*length` says how many). */
static inline int aos_host_inbox_next(aos_host_inbox *in, aos_host_reader *r, uint32_t *type, uint32_t *length) {
    size_t have = in->end - in->start;
    if (have < sizeof(aos_host_frame_header)) return 0;
    aos_host_frame_header header;
    memcpy(&header, in->data + in->start, sizeof header);
    *length = header.length;
    if (header.length > AOS_HOST_FRAME_MAX) return -1;
    if (have - sizeof header < header.length) return 0;
    r->data = in->data + in->start + sizeof header;
    r->len = header.length;
    r->at = 0;
    r->bad = 0;
    *type = header.type;
    in->start += sizeof header + header.length;
    if (in->start == in->end) in->start = in->end = 0; /* the next recv reuses the front */
    return 1;
}

/* True when part of a frame is buffered (its rest is still to come). */
static inline int aos_host_inbox_begun(const aos_host_inbox *in) { return in->end > in->start; }

/* Room for the next recv, after aos_host_inbox_next returned 0: moves the
 * partial frame to the front and grows the buffer to hold it whole. Returns
 * where to receive and sets `*room`, or NULL when memory ran out. */
static inline uint8_t *aos_host_inbox_space(aos_host_inbox *in, size_t *room) {
    size_t have = in->end - in->start;
    size_t need = have + AOS_HOST_INBOX_MIN;
    if (have >= sizeof(aos_host_frame_header)) {
        aos_host_frame_header header; /* its length was checked by aos_host_inbox_next */
        memcpy(&header, in->data + in->start, sizeof header);
        if (sizeof header + (size_t)header.length > need) need = sizeof header + (size_t)header.length;
    }
    if (in->start && in->cap - in->end < need - have) {
        memmove(in->data, in->data + in->start, have);
        in->start = 0;
        in->end = have;
    }
    if (in->cap - in->start < need) {
        uint8_t *grown = (uint8_t *)realloc(in->data, in->start + need);
        if (!grown) return NULL;
        in->data = grown;
        in->cap = in->start + need;
    }
    *room = in->cap - in->end;
    return in->data + in->end;
}

/* Forgets whatever is buffered (a new host, a new channel). */
static inline void aos_host_inbox_reset(aos_host_inbox *in) { in->start = in->end = 0; }

#endif
