/*
 * agentos.h — the AgentOS plugin ABI.
 *
 * The single source of truth for what crosses the boundary between the
 * AgentOS kernel (agentosd) and its plugins. A plugin is a shared library
 * that exports exactly one symbol, `aos_plugin`, an aos_plugin_descriptor.
 * The kernel hands each instance a table of syscalls, aos_kernel_api, whose
 * first field is its size; new syscalls are only ever appended (minor bump).
 * Plugins never link against kernel symbols.
 *
 * Conventions
 *   - Every fallible call returns aos_status: AOS_OK (0) or a negative code.
 *   - Buffers are {ptr, len}; strings are NUL-terminated UTF-8.
 *   - Counts are uint32_t, but for call_delegate's n_caps, a size_t (as it
 *     was published in ABI 1.3; kept so 1.3 plugins keep working).
 *   - What was added after ABI 1.0 says so with one marker, "Since ABI 1.N:",
 *     at the start of the field's comment or of a group of syscalls.
 *   - Each syscall says who owns every pointer and for how long, and on
 *     which thread it may be called.
 *   - Nothing may unwind across this boundary: no C++ exception, no Swift
 *     error, no longjmp. A plugin that fails returns a status.
 *
 * Compiles clean as C11 and C++17 with -Wall -Wextra -pedantic.
 */
#ifndef AGENTOS_H
#define AGENTOS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versions and magic                                                       */
/* ------------------------------------------------------------------------ */

/** A plugin built against another major version is refused at load. */
#define AOS_ABI_MAJOR 1
/** Bumped when syscalls, descriptor fields or flags are appended. */
#define AOS_ABI_MINOR 12

/** First field of every descriptor: "AOSP". */
#define AOS_PLUGIN_MAGIC 0x414F5350u

/** The exported symbol the kernel looks up. */
#define AOS_PLUGIN_SYMBOL "aos_plugin"

/**
 * AOS_BUILD_ID — the build magic: pointer width in bits, and byte order.
 *
 * A plugin records the value it was compiled with in its descriptor; the
 * kernel refuses one whose build id differs from its own (a 32-bit or
 * big-endian build cannot share structs with this kernel).
 */
#define AOS_BUILD_ID                                        \
    ((uint32_t)(sizeof(void *) * 8u) |                      \
     ((__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 1u : 2u) << 8))

/** AOS_BUILD_ID as a function, for languages that cannot expand the macro. */
static inline uint32_t aos_build_id(void) { return AOS_BUILD_ID; }

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

/** The result of every fallible call: AOS_OK or one of the codes below. */
typedef int32_t aos_status;

#define AOS_OK           0   /* success */
#define AOS_EINVAL      (-1)  /* an argument is invalid (NULL, bad UTF-8, unknown flag) */
#define AOS_ENOTFOUND   (-2)  /* no such agent, request or entry */
#define AOS_EFULL       (-3)  /* the receiver's mailbox is full */
#define AOS_ETIMEDOUT   (-4)  /* the caller's timeout passed first */
#define AOS_ESTOPPING   (-5)  /* this instance or the receiver is being unloaded */
#define AOS_EPERM       (-6)  /* permission denied: a capability is not granted */
#define AOS_EQUOTA      (-7)  /* a resource quota is exhausted */
#define AOS_EABI        (-8)  /* ABI mismatch (magic, version, struct size, build) */
#define AOS_EINTERNAL   (-9)  /* a kernel bug or resource failure; see the kernel log */
#define AOS_ETOOBIG     (-10) /* a message or buffer exceeds the kernel's limit */
#define AOS_EEXIST      (-11) /* the name is already taken */
#define AOS_ENOMEM      (-12) /* out of memory */
#define AOS_EWRONGTHREAD (-13) /* called from a thread that is not the instance's own */
#define AOS_ECANCELLED  (-14) /* the operation was cancelled */
#define AOS_EHANDLER    (-15) /* the receiver's handler failed before it replied */
#define AOS_EUNAVAIL    (-16) /* the inference engine is unavailable (none, unreachable, failed) */
#define AOS_ETOOL       (-17) /* the tool failed: it reported an error, returned NULL or invalid JSON */
#define AOS_ELOOP       (-18) /* the tool loop hit its step limit or the model repeated a call */
/* Since ABI 1.7: */
#define AOS_ECONFLICT   (-19) /* compare-and-set: the entry's version is not the one expected
                                 (since ABI 1.10 also: the session is busy, see session_busy) */
#define AOS_ESTORAGE    (-20) /* the state database is unavailable (read-only, full or corrupt) */
/* Since ABI 1.8: a process-mode receiver's host died (signal, exit, a closed
 * channel, an invalid frame, no answer) while it handled this message, or it
 * failed for good after too many crashes. The caller's request ends at once,
 * not at its timeout; messages still queued wait for the restarted host. */
#define AOS_ECRASHED    (-21) /* the receiver crashed: its process-mode host died */
/* Since ABI 1.9: */
#define AOS_EUNREACHABLE (-22) /* the agent's node is gone or the cluster link is down */
#define AOS_EAMBIGUOUS  (-23) /* a plain name runs on several nodes: use NAME@NODE */

/**
 * aos_status_name — the symbolic name of a status, e.g. "AOS_EFULL".
 * Returns a static string; "AOS_E?" for a code this header does not know
 * (print the number beside it: the kernel shows such a code as "AOS_E?(7)").
 */
static inline const char *aos_status_name(aos_status status) {
    switch (status) {
    case AOS_OK: return "AOS_OK";
    case AOS_EINVAL: return "AOS_EINVAL";
    case AOS_ENOTFOUND: return "AOS_ENOTFOUND";
    case AOS_EFULL: return "AOS_EFULL";
    case AOS_ETIMEDOUT: return "AOS_ETIMEDOUT";
    case AOS_ESTOPPING: return "AOS_ESTOPPING";
    case AOS_EPERM: return "AOS_EPERM";
    case AOS_EQUOTA: return "AOS_EQUOTA";
    case AOS_EABI: return "AOS_EABI";
    case AOS_EINTERNAL: return "AOS_EINTERNAL";
    case AOS_ETOOBIG: return "AOS_ETOOBIG";
    case AOS_EEXIST: return "AOS_EEXIST";
    case AOS_ENOMEM: return "AOS_ENOMEM";
    case AOS_EWRONGTHREAD: return "AOS_EWRONGTHREAD";
    case AOS_ECANCELLED: return "AOS_ECANCELLED";
    case AOS_EHANDLER: return "AOS_EHANDLER";
    case AOS_EUNAVAIL: return "AOS_EUNAVAIL";
    case AOS_ETOOL: return "AOS_ETOOL";
    case AOS_ELOOP: return "AOS_ELOOP";
    case AOS_ECONFLICT: return "AOS_ECONFLICT";
    case AOS_ESTORAGE: return "AOS_ESTORAGE";
    case AOS_ECRASHED: return "AOS_ECRASHED";
    case AOS_EUNREACHABLE: return "AOS_EUNREACHABLE";
    case AOS_EAMBIGUOUS: return "AOS_EAMBIGUOUS";
    default: return "AOS_E?";
    }
}

/**
 * aos_status_message — a short lower-case description, e.g. "mailbox full".
 * Returns a static string.
 */
static inline const char *aos_status_message(aos_status status) {
    switch (status) {
    case AOS_OK: return "ok";
    case AOS_EINVAL: return "invalid argument";
    case AOS_ENOTFOUND: return "not found";
    case AOS_EFULL: return "mailbox full";
    case AOS_ETIMEDOUT: return "timed out";
    case AOS_ESTOPPING: return "stopping";
    case AOS_EPERM: return "permission denied";
    case AOS_EQUOTA: return "quota exceeded";
    case AOS_EABI: return "ABI mismatch";
    case AOS_EINTERNAL: return "internal error";
    case AOS_ETOOBIG: return "too big";
    case AOS_EEXIST: return "already exists";
    case AOS_ENOMEM: return "out of memory";
    case AOS_EWRONGTHREAD: return "wrong thread";
    case AOS_ECANCELLED: return "cancelled";
    case AOS_EHANDLER: return "handler failed";
    case AOS_EUNAVAIL: return "engine unavailable";
    case AOS_ETOOL: return "tool failed";
    case AOS_ELOOP: return "tool loop did not finish";
    case AOS_ECONFLICT: return "version conflict";
    case AOS_ESTORAGE: return "storage unavailable";
    case AOS_ECRASHED: return "receiver crashed";
    case AOS_EUNREACHABLE: return "node unreachable";
    case AOS_EAMBIGUOUS: return "name on several nodes";
    default: return "unknown status";
    }
}

/* ------------------------------------------------------------------------ */
/* Data types                                                               */
/* ------------------------------------------------------------------------ */

/** The calling instance. Opaque; valid from init until stop returns. */
typedef struct aos_ctx aos_ctx;

/** Bytes lent for the duration of one call; the owner keeps them. */
typedef struct aos_bytes {
    const uint8_t *ptr;
    size_t len;
} aos_bytes;

/** Bytes the kernel allocated for the plugin; free with api->release. */
typedef struct aos_buffer {
    uint8_t *ptr;
    size_t len;
} aos_buffer;

/** aos_message.flags: the sender waits for api->reply(msg->id, ...). */
#define AOS_MSG_REQUEST 0x1u
/** aos_message.flags: the result of api->infer_submit; see aos_message.inference. */
#define AOS_MSG_INFERENCE 0x2u

/** Why a generation ended (aos_infer_result.finish_reason). */
#define AOS_FINISH_STOP      1u /* the model ended its turn, or a stop string matched */
#define AOS_FINISH_LENGTH    2u /* max_tokens were generated, or the context filled */
#define AOS_FINISH_CANCELLED 3u /* cancelled by infer_cancel, a stream callback, or unload */

/** Token counts and timings of one inference request. */
typedef struct aos_infer_usage {
    uint32_t prompt_tokens;     /* tokens of the templated prompt */
    uint32_t completion_tokens; /* tokens generated */
    uint64_t queue_ns;          /* submitted until the engine took it */
    uint64_t ttft_ns;           /* submitted until the first generated token (0 if none) */
    uint64_t total_ns;          /* submitted until finished */
} aos_infer_usage;

/**
 * What an inference request produced. The caller sets struct_size.
 *
 * From api->infer and api->infer_stream, `text` is a buffer the kernel
 * allocated: the caller owns it and frees it with api->release (it is
 * {NULL, 0} when the call fails). In an AOS_MSG_INFERENCE message, `text`
 * is {NULL, 0}: the text is the message body, lent like any body.
 */
typedef struct aos_infer_result {
    uint32_t struct_size;   /* sizeof(aos_infer_result) */
    aos_status status;      /* AOS_OK, or why the request failed (messages only; calls return it) */
    uint64_t request_id;    /* kernel-minted; names the request in logs, ps and infer_cancel */
    uint32_t finish_reason; /* AOS_FINISH_* (0 when status is not AOS_OK) */
    uint32_t reserved;
    aos_buffer text;        /* the generated text, UTF-8, without the stop string */
    aos_infer_usage usage;  /* with tools: summed over every model turn */
    /* Since ABI 1.2: with tools, the steps of the tool loop as a JSON array, one
     * object per tool call: {"tool", "arguments", "result" or "error",
     * "duration_ns"}; "[]" when the model answered at once, {NULL, 0} without
     * tools. Owned like `text` (released by the caller of infer; lent in a
     * message). Filled only when struct_size covers it. */
    aos_buffer trace;       /* not NUL-terminated; filled only with status AOS_OK (a failed
                               loop's calls are in the instance's log) */
    /* Since ABI 1.5: of usage.prompt_tokens, those the engine did not compute
     * because their KV was in its prefix cache (with tools: summed over every
     * model turn). Filled only when struct_size covers it. */
    uint32_t cached_tokens;
    uint32_t reserved2;     /* 0 */
} aos_infer_result;

/**
 * A message delivered to on_message.
 *
 * Every pointer in it (the struct, `from`, `body.ptr`) is owned by the kernel
 * and valid only until on_message returns: copy what you keep.
 */
typedef struct aos_message {
    uint32_t struct_size; /* sizeof(aos_message) of the kernel that built it */
    uint32_t flags;       /* AOS_MSG_REQUEST for a request, AOS_MSG_INFERENCE for the result of
                             api->infer_submit, or 0 for a plain send */
    uint64_t id;          /* kernel-minted, unique in this kernel's run; the correlation id of a request */
    const char *from;     /* the sender's instance name, "agentctl" for the control API,
                             or "kernel" for an inference result */
    aos_bytes body;
    /* Since ABI 1.1: with AOS_MSG_INFERENCE, the result of api->infer_submit (`id` is
     * its request id and `body` its text); NULL otherwise. Check
     * struct_size > offsetof(aos_message, inference) before reading. */
    const aos_infer_result *inference;
    /* Since ABI 1.10: the session the sender named (`agentctl send NAME TEXT
     * --session ID`), to pass on as aos_infer_request.session; NULL when it
     * named none. Check struct_size > offsetof(aos_message, session) first. */
    const char *session;
} aos_message;

/** What api->self reports. The caller sets struct_size before the call. */
typedef struct aos_self_info {
    uint32_t struct_size;
    uint32_t reserved;
    uint64_t instance_id; /* unique in this kernel's run, never reused */
    const char *name;     /* owned by the kernel; valid until stop returns */
    uint64_t max_message_bytes; /* the largest body send, call and reply accept */
    uint32_t mailbox_capacity;  /* messages this instance's mailbox holds */
    uint32_t reserved2;
} aos_self_info;

/** A timeout that never expires, for api->send and api->call. */
#define AOS_FOREVER 0xFFFFFFFFu

/** Levels for api->log. */
#define AOS_LOG_DEBUG 10u
#define AOS_LOG_INFO  20u
#define AOS_LOG_WARN  30u
#define AOS_LOG_ERROR 40u

/** One turn of a chat. Both strings are NUL-terminated UTF-8, owned by the caller. */
typedef struct aos_chat_message {
    const char *role;    /* "system", "user", "assistant" or "tool" (a tool's result) */
    const char *content;
} aos_chat_message;

/**
 * An inference request. The caller owns every pointer; the kernel copies
 * what it needs before the syscall returns. Zero-initialise, then set
 * struct_size, messages and max_tokens: the zero of every other field is its
 * default.
 */
typedef struct aos_infer_request {
    uint32_t struct_size;               /* sizeof(aos_infer_request) */
    uint32_t n_messages;                /* at least 1 */
    const aos_chat_message *messages;   /* the chat so far, oldest first */
    uint32_t max_tokens;                /* tokens to generate at most: 1 .. the context size */
    float temperature;                  /* 0 = greedy, deterministic; up to 2 */
    float top_p;                        /* nucleus sampling in (0, 1]; 0 means 1 (off) */
    int32_t priority;                   /* added to the agent's priority under --policy priority */
    uint64_t seed;                      /* sampling seed; the same seed gives the same text */
    const char *const *stop;            /* n_stop strings that end the generation, or NULL */
    uint32_t n_stop;                    /* at most 8 */
    uint32_t reserved;
    const char *grammar;                /* a GBNF grammar (root rule "root") the output must match, or NULL */
    const char *json_schema;            /* a JSON Schema of an object the output must match, or NULL;
                                           not together with `grammar` */
    /* Since ABI 1.2: the tool loop. With tools, the kernel offers them to the model,
     * runs the calls it makes (each with the agent's own rights), feeds the
     * results back and repeats until the model answers; result->trace lists
     * the calls. max_tokens applies to each model turn. Not together with
     * `grammar` or `json_schema`. A kernel has the tool loop when
     * AOS_API_HAS(api, tool_call); an older one ignores these fields. */
    const char *const *tools;           /* n_tools tool names or globs ("catalog.*", "clock.now"), or NULL */
    uint32_t n_tools;                   /* at most 64 */
    uint32_t tool_choice;               /* AOS_TOOL_CHOICE_* */
    uint32_t max_steps;                 /* model turns at most, 1..32; 0 means 8 */
    uint32_t reserved2;
    /* Since ABI 1.10: conversations. With a session, the kernel keeps its turns
     * in $AGENTOS_HOME/state.sqlite: the prompt is this request's system
     * messages, the session's pinned summary, its stored turns, then this
     * request's other messages (the new turns; at least one). When the
     * answer comes, the new turns, the tool calls and results and the answer
     * are stored in one transaction; a failed or cancelled request stores
     * nothing. When the history no longer fits the context, session_policy
     * applies and the cut is recorded in the session (`agentctl sessions
     * show`): no turn leaves the prompt silently. Sessions belong to the
     * agent that names them; one session answers one request at a time:
     * session_busy says what a request does while it answers another. A
     * kernel before ABI 1.10 ignores these fields: check api->abi_minor >= 10. */
    const char *session;                /* a session id (1-128 of [A-Za-z0-9_.:@-]), or NULL */
    uint32_t session_policy;            /* AOS_SESSION_* (when the history outgrows the context) */
    uint32_t session_busy;              /* AOS_SESSION_BUSY_* (when the session is answering another request) */
} aos_infer_request;

/** Since ABI 1.10: aos_infer_request.session_policy */
#define AOS_SESSION_KEEP_RECENT 0u /* keep the system prompt and the most recent turns that fit */
#define AOS_SESSION_SUMMARIZE   1u /* summarize the oldest turns with the model into a pinned summary */

/** Since ABI 1.10: aos_infer_request.session_busy */
#define AOS_SESSION_BUSY_ENQUEUE   0u /* wait for the session behind the requests already waiting (at most 16) */
#define AOS_SESSION_BUSY_REJECT    1u /* fail at once with AOS_ECONFLICT */
#define AOS_SESSION_BUSY_INTERRUPT 2u /* cancel the request being answered (it stores nothing) and go next */

/** aos_infer_request.tool_choice */
#define AOS_TOOL_CHOICE_AUTO     0u /* the model answers or calls a tool, as it decides */
#define AOS_TOOL_CHOICE_REQUIRED 1u /* the first turn must call a tool; later turns are AUTO */

/**
 * A streaming callback: receives each piece of generated text (UTF-8, whole
 * characters, not NUL-terminated, lent for the call) on the caller's own
 * thread. Return AOS_OK to go on; any other status cancels the request.
 */
typedef aos_status (*aos_token_fn)(void *user, const char *piece, size_t len);

/** Clocks for api->now. */
#define AOS_CLOCK_REALTIME  0u /* nanoseconds since the Unix epoch */
#define AOS_CLOCK_MONOTONIC 1u /* nanoseconds since an arbitrary start; never goes back */

/* ------------------------------------------------------------------------ */
/* The kernel API table                                                     */
/* ------------------------------------------------------------------------ */

/**
 * The syscalls the kernel hands to init. Valid until stop returns.
 *
 * Append-only: a field added in ABI 1.N is present when
 * AOS_API_HAS(api, field) is true. Call nothing the table does not have.
 */
typedef struct aos_kernel_api {
    uint32_t struct_size; /* sizeof(aos_kernel_api) in the kernel's build */
    uint16_t abi_major;
    uint16_t abi_minor;

    /**
     * send — queue a message for another agent.
     *
     *   aos_status (*send)(aos_ctx *ctx, const char *to, aos_bytes body, uint32_t timeout_ms);
     *
     * Copies `body` into the receiver's mailbox; the caller keeps ownership of
     * `body` and `to`. Returns at once when there is room, else waits up to
     * `timeout_ms` (0 = never wait, AOS_FOREVER = no limit). Messages from one
     * sender to one receiver arrive in the order they were sent, each at most once.
     * In a cluster (1.9), `to` may be NAME@NODE, and a plain NAME that no local
     * agent has goes to the one node running it; a remote send returns once the
     * message is on the cluster link (a receiver that cannot take it is logged
     * as a dead letter on its node), and send:PATTERN is matched against NAME@NODE.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `to` is NULL or not UTF-8, or body.ptr is NULL with len > 0
     *   AOS_EPERM        this instance does not hold send:`to` (nor a glob matching it)
     *   AOS_ENOTFOUND    no agent named `to` is running (here or on any node)
     *   AOS_EUNREACHABLE `to`'s node is gone or the cluster link is down (1.9)
     *   AOS_EAMBIGUOUS   a plain `to` runs on several nodes and not here (1.9)
     *   AOS_EFULL        the mailbox stayed full for `timeout_ms` (at once
     *                    when `to` is this instance: only it could make room)
     *   AOS_ETOOBIG      body.len exceeds the kernel's message limit
     *   AOS_ESTOPPING    this instance or the receiver is being unloaded
     *   AOS_EWRONGTHREAD called from another thread
     */
    aos_status (*send)(aos_ctx *ctx, const char *to, aos_bytes body, uint32_t timeout_ms);

    /**
     * call — send a request and wait for its reply.
     *
     *   aos_status (*call)(aos_ctx *ctx, const char *to, aos_bytes body,
     *                      uint32_t timeout_ms, aos_buffer *reply);
     *
     * Queues `body` as a request (AOS_MSG_REQUEST, with a kernel-minted
     * correlation id) and blocks until the receiver answers it with
     * api->reply or `timeout_ms` passes (AOS_FOREVER = no limit). The timeout
     * covers both the wait for mailbox room and the wait for the reply.
     * On AOS_OK, `*reply` holds a buffer the kernel allocated (reply->ptr is
     * never NULL, even for an empty reply): the caller owns it and frees it
     * with api->release. On error `*reply` is {NULL, 0}.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `to` or `reply` is NULL, `to` is this instance, or `timeout_ms` is 0
     *   AOS_EPERM        this instance does not hold send:`to` (nor a glob matching it)
     *   AOS_ENOTFOUND    no agent named `to` is running (here or on any node)
     *   AOS_EUNREACHABLE `to`'s node went away or the cluster link went down
     *                    before the reply came (1.9; NAME@NODE as for send)
     *   AOS_EAMBIGUOUS   a plain `to` runs on several nodes and not here (1.9)
     *   AOS_EFULL        the receiver's mailbox stayed full until the timeout
     *   AOS_ETIMEDOUT    no reply came within `timeout_ms`
     *   AOS_ETOOBIG      body.len exceeds the kernel's message limit
     *   AOS_ESTOPPING    this instance or the receiver was unloaded first
     *   AOS_EHANDLER     the receiver's handler returned an error without replying
     *   AOS_ECRASHED     the receiver runs in process mode and its host died while it handled this (ABI 1.8)
     *   AOS_EWRONGTHREAD called from another thread
     */
    aos_status (*call)(aos_ctx *ctx, const char *to, aos_bytes body, uint32_t timeout_ms,
                       aos_buffer *reply);

    /**
     * reply — answer a request this instance received.
     *
     *   aos_status (*reply)(aos_ctx *ctx, uint64_t request_id, aos_bytes body);
     *
     * Completes the caller's wait for request `request_id` (the `id` of a
     * message with AOS_MSG_REQUEST) with a copy of `body`; the caller keeps
     * ownership of `body`. May be called during on_message or later, once per
     * request.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       body.ptr is NULL with len > 0
     *   AOS_ENOTFOUND    no caller waits for `request_id` from this instance
     *                    (not a request, already answered, or the caller gave up)
     *   AOS_ETOOBIG      body.len exceeds the kernel's message limit
     *   AOS_ESTOPPING    this instance is being unloaded: its requests were
     *                    already failed with AOS_ESTOPPING to their callers
     *   AOS_EWRONGTHREAD called from another thread
     */
    aos_status (*reply)(aos_ctx *ctx, uint64_t request_id, aos_bytes body);

    /**
     * log — write one line to this instance's log.
     *
     *   aos_status (*log)(aos_ctx *ctx, uint32_t level, const char *text);
     *
     * Copies `text` (NUL-terminated) into the instance's log, which
     * `agentctl logs NAME` reads. Invalid UTF-8 is replaced with U+FFFD and
     * lines longer than the kernel's limit (4096 bytes) are cut and marked, so a
     * log line never fails.
     * Thread: any thread of the plugin while the instance is loaded.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `text` is NULL or `level` is not an AOS_LOG_* value
     */
    aos_status (*log)(aos_ctx *ctx, uint32_t level, const char *text);

    /**
     * now — read a clock.
     *
     *   aos_status (*now)(aos_ctx *ctx, uint32_t clock, uint64_t *ns);
     *
     * Stores the time of `clock` (AOS_CLOCK_REALTIME or AOS_CLOCK_MONOTONIC)
     * in nanoseconds into `*ns`.
     * Thread: any thread.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `ns` is NULL or `clock` is unknown
     */
    aos_status (*now)(aos_ctx *ctx, uint32_t clock, uint64_t *ns);

    /**
     * self — describe the calling instance.
     *
     *   aos_status (*self)(aos_ctx *ctx, aos_self_info *info);
     *
     * Fills `info` up to info->struct_size (set it to sizeof(aos_self_info)).
     * `info->name` is owned by the kernel and valid until stop returns.
     * Thread: any thread.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `info` is NULL or info->struct_size is too small
     */
    aos_status (*self)(aos_ctx *ctx, aos_self_info *info);

    /**
     * release — free a buffer the kernel allocated for this plugin.
     *
     *   void (*release)(aos_ctx *ctx, aos_buffer *buffer);
     *
     * Frees buffer->ptr and sets the buffer to {NULL, 0}. NULL buffers and
     * {NULL, 0} are ignored, so releasing twice is harmless.
     * Thread: any thread.
     */
    void (*release)(aos_ctx *ctx, aos_buffer *buffer);

    /* ---- Since ABI 1.1: inference ---- */

    /**
     * infer — generate a chat completion and wait for it.
     *
     *   aos_status (*infer)(aos_ctx *ctx, const aos_infer_request *request,
     *                       aos_infer_result *result);
     *
     * Queues `request` on the kernel's inference scheduler and blocks until
     * it finishes. On AOS_OK, `*result` holds the text (the caller owns
     * result->text and frees it with api->release), the finish reason and
     * the usage. Time spent here does not count against the handler deadline.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       a NULL or malformed field: no messages, an unknown role,
     *                    invalid UTF-8, max_tokens 0 or over the context size,
     *                    temperature or top_p out of range, too many stop strings,
     *                    an invalid grammar or schema, or both (the log says which)
     *   AOS_ETOOBIG      the prompt does not fit in the context
     *   AOS_EFULL        the kernel's inference queue is full
     *   AOS_EPERM        this instance does not hold "infer", or with tools: it
     *                    holds no tool: capability for any tool the patterns match
     *                    (the model is offered only the matching tools it holds)
     *   AOS_EQUOTA       a quota of this instance is exhausted: its token budget,
     *                    its concurrent requests, or its tokens per minute after
     *                    waiting quota_wait_ms for budget (the log names it)
     *   AOS_ENOTFOUND    with tools: no loaded tool matches the patterns
     *   AOS_ELOOP        with tools: the model was still calling tools after
     *                    max_steps turns, or repeated an identical call
     *   AOS_EUNAVAIL     no engine is configured, or the engine failed
     *   AOS_ESTOPPING    this instance is being unloaded (the request was cancelled)
     *   AOS_EWRONGTHREAD called from another thread
     * and, since ABI 1.10, with a session:
     *   AOS_EINVAL       an invalid session id, session_policy or session_busy,
     *                    or no new (non-system) message
     *   AOS_ETOOBIG      the system and new messages alone do not fit the context
     *   AOS_ECONFLICT    the session is answering another request and
     *                    session_busy is REJECT, or 16 requests wait for it
     *   AOS_ESTORAGE     the state database is unavailable, or the answer
     *                    could not be stored (last_error says why)
     */
    aos_status (*infer)(aos_ctx *ctx, const aos_infer_request *request, aos_infer_result *result);

    /**
     * infer_stream — infer, handing each piece of text to a callback as it is generated.
     *
     *   aos_status (*infer_stream)(aos_ctx *ctx, const aos_infer_request *request,
     *                              aos_token_fn on_token, void *user,
     *                              aos_infer_result *result);
     *
     * As infer; `on_token(user, piece, len)` runs on the caller's thread for
     * each piece, in order, before infer_stream returns. The pieces
     * concatenated equal result->text. A callback that returns non-AOS_OK
     * cancels the request: infer_stream returns AOS_OK with finish_reason
     * AOS_FINISH_CANCELLED and the text so far.
     * Thread: the calling instance's own thread only.
     *
     * Returns as infer, and AOS_EINVAL when `on_token` is NULL.
     */
    aos_status (*infer_stream)(aos_ctx *ctx, const aos_infer_request *request, aos_token_fn on_token,
                               void *user, aos_infer_result *result);

    /**
     * infer_submit — queue an inference request and return at once.
     *
     *   aos_status (*infer_submit)(aos_ctx *ctx, const aos_infer_request *request,
     *                              uint64_t *request_id);
     *
     * Checks and queues `request`, stores its id in `*request_id` and
     * returns. The result arrives later in this instance's mailbox as a
     * message from "kernel" with flags AOS_MSG_INFERENCE, msg->id equal to the
     * request id, the text as msg->body and the rest in msg->inference (whose
     * status says whether the request failed later, e.g. AOS_ETOOBIG).
     * Exactly one such message arrives per submitted request, unless the
     * instance is unloaded first.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or the errors of infer found before queueing.
     */
    aos_status (*infer_submit)(aos_ctx *ctx, const aos_infer_request *request, uint64_t *request_id);

    /**
     * infer_cancel — cancel a request this instance submitted.
     *
     *   aos_status (*infer_cancel)(aos_ctx *ctx, uint64_t request_id);
     *
     * Stops the generation and frees its place in the engine. The result
     * message still arrives, with AOS_FINISH_CANCELLED and the text so far.
     * Needs no capability: it only touches this instance's own requests.
     * Thread: any thread of the plugin while the instance is loaded.
     *
     * Returns AOS_OK, or
     *   AOS_ENOTFOUND    no unfinished request of this instance has that id
     */
    aos_status (*infer_cancel)(aos_ctx *ctx, uint64_t request_id);

    /* ---- Since ABI 1.2: tools ---- */

    /**
     * tool_call — call a tool with JSON arguments and wait for its result.
     *
     *   aos_status (*tool_call)(aos_ctx *ctx, const char *tool, const char *args_json,
     *                           uint32_t timeout_ms, aos_buffer *result);
     *
     * `tool` is a full tool name, "INSTANCE.TOOL" (`agentctl tools` lists them);
     * `args_json` a JSON object of its arguments ("{}" or NULL for none). The
     * kernel checks every argument against the tool's signature before the
     * call — types, ranges, required and unknown keys, string length and
     * UTF-8 — so the tool never sees a bad one. A tool marked
     * AOS_TOOL_THREAD_SAFE runs on the caller's thread and `timeout_ms` does
     * not interrupt it; any other tool runs on its plugin's thread, one call at
     * a time, and the caller waits at most `timeout_ms` (AOS_FOREVER = no limit).
     * On AOS_OK, `*result` holds the result as JSON text (a number, true/false,
     * a string or the JSON the tool returned); on AOS_ETOOL, the tool's error
     * message as plain text. Either way the caller owns the buffer and frees it
     * with api->release; on any other status it is {NULL, 0}, and the
     * instance's log says why.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `tool` or `result` is NULL, or an argument does not fit the
     *                    signature (the log names it)
     *   AOS_EPERM        this instance does not hold tool:`tool` (nor a glob matching it)
     *   AOS_ENOTFOUND    no loaded tool has that name
     *   AOS_ETOOBIG      args_json exceeds the kernel's message limit
     *   AOS_ETOOL        the tool failed (see *result)
     *   AOS_ETIMEDOUT    the tool did not return within `timeout_ms`; its plugin shows as hung
     *   AOS_EFULL        the tool's queue stayed full until the timeout
     *   AOS_ESTOPPING    this instance or the tool's plugin is being unloaded
     *   AOS_EWRONGTHREAD called from another thread
     */
    aos_status (*tool_call)(aos_ctx *ctx, const char *tool, const char *args_json, uint32_t timeout_ms,
                            aos_buffer *result);

    /**
     * tools_list — describe the loaded tools as OpenAI function tools.
     *
     *   aos_status (*tools_list)(aos_ctx *ctx, const char *pattern, aos_buffer *json);
     *
     * Stores in `*json` a JSON array with one
     * {"type": "function", "function": {"name", "description", "parameters"}}
     * per tool whose name matches `pattern` (a glob such as "catalog.*"; NULL
     * for all) and that this instance may call (its tool: capabilities), by name. The caller owns the buffer and frees it with api->release.
     * Thread: any thread of the plugin while the instance is loaded.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `json` is NULL or `pattern` is not UTF-8
     */
    aos_status (*tools_list)(aos_ctx *ctx, const char *pattern, aos_buffer *json);

    /**
     * tool_error — fail the tool call that is running on this thread.
     *
     *   aos_status (*tool_error)(aos_ctx *ctx, const char *message);
     *
     * Called by a tool function before it returns: the caller gets AOS_ETOOL
     * with a copy of `message` (UTF-8, at most 4096 bytes kept), and whatever
     * the function returns is ignored (a returned string is still freed with
     * free_result). `ctx` may be NULL: the kernel knows which call runs here.
     * Thread: a thread running a tool function.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL       `message` is NULL
     *   AOS_ENOTFOUND    no tool call is running on this thread
     */
    aos_status (*tool_error)(aos_ctx *ctx, const char *message);

    /* ---- Since ABI 1.3: delegation and administration ---- */

    /**
     * call_delegate — call(), lending the receiver some of this instance's
     * capabilities for that one request.
     *
     *   aos_status (*call_delegate)(aos_ctx *ctx, const char *to, aos_bytes body,
     *                               const char *const *caps, size_t n_caps,
     *                               uint32_t timeout_ms, aos_buffer *reply);
     *
     * Like call, and while the receiver handles this request (its on_message
     * for it, and the inference requests and tool loops it starts there) it
     * holds `caps` besides its own grants. Delegation only narrows: each of
     * the `n_caps` capabilities (text forms such as "tool:catalog.lookup_product")
     * must be covered by what this instance holds, itself or lent; otherwise
     * nothing is sent. The caller keeps ownership of `caps`. `n_caps` is a
     * size_t, unlike the uint32_t counts elsewhere (kept as ABI 1.3 published it).
     * Thread: the calling instance's own thread only.
     *
     * Returns what call returns, or
     *   AOS_EINVAL       `caps` is NULL with n_caps > 0, more than 64 caps, or one is not a capability
     *   AOS_EPERM        this instance does not hold one of `caps` (the log and audit name it)
     */
    aos_status (*call_delegate)(aos_ctx *ctx, const char *to, aos_bytes body, const char *const *caps,
                                size_t n_caps, uint32_t timeout_ms, aos_buffer *reply);

    /**
     * plugin_load — load a plugin as a new instance. Needs "admin".
     *
     *   aos_status (*plugin_load)(aos_ctx *ctx, const char *path, const char *name,
     *                             const char *config);
     *
     * Loads the shared library at `path` (absolute, or relative to the
     * kernel's working directory) as an instance named `name` (NULL: the
     * descriptor's name) with `config` (NULL: ""), and blocks until its init
     * returns. The new instance holds what policy.yaml grants its name and
     * nothing else: "admin" loads plugins, it does not hand out capabilities.
     * The caller keeps ownership of the strings. The kernel's log and this
     * instance's log say why a load failed. Time spent here does not count
     * against the handler deadline.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EPERM        this instance does not hold "admin"
     *   AOS_EINVAL       `path` is NULL, a string is not UTF-8, the name is
     *                    invalid, or the file is not a loadable plugin
     *   AOS_ENOTFOUND    no file at `path`
     *   AOS_EABI         the plugin was built for another ABI or build
     *   AOS_EEXIST       an instance with that name is running
     *   AOS_EHANDLER     its init failed (it is listed as failed)
     *   AOS_ETIMEDOUT    its init did not return in time (it is left hung)
     *   AOS_ESTOPPING    this instance is being unloaded
     *   AOS_EWRONGTHREAD called from another thread
     */
    aos_status (*plugin_load)(aos_ctx *ctx, const char *path, const char *name, const char *config);

    /**
     * plugin_unload — unload another instance. Needs "admin".
     *
     *   aos_status (*plugin_unload)(aos_ctx *ctx, const char *name);
     *
     * Unloads instance `name` as `agentctl unload` does and blocks until it
     * has stopped (its library closed) or the kernel's unload timeout passes.
     * Thread: the calling instance's own thread only.
     *
     * Returns AOS_OK, or
     *   AOS_EPERM        this instance does not hold "admin"
     *   AOS_EINVAL       `name` is NULL, not UTF-8, or this instance itself
     *   AOS_ENOTFOUND    no instance named `name` is running
     *   AOS_ETIMEDOUT    its handler did not return in time: it stays listed as hung
     *   AOS_ESTOPPING    this instance is being unloaded
     *   AOS_EWRONGTHREAD called from another thread
     */
    aos_status (*plugin_unload)(aos_ctx *ctx, const char *name);

    /* ---- Since ABI 1.4: error details ---- */

    /**
     * last_error — why this thread's last failed syscall failed.
     *
     *   const char *(*last_error)(aos_ctx *ctx);
     *
     * Returns the detailed reason of the most recent syscall on the calling
     * thread that returned an error, as one line of UTF-8, e.g.
     * "no agent named weather is running (see `agentctl ps`)" where the
     * status only says AOS_ENOTFOUND (sqlite3_errmsg's idea). It is the
     * reason the kernel's log gives, or the status's description when the
     * kernel has no more to say. Never NULL: "" while no syscall on this
     * thread has failed.
     *
     * Ownership: the string belongs to the kernel and lives in the calling
     * thread's storage. It stays valid on this thread until the thread's
     * next syscall (copy it first if you keep it), must not be freed, and
     * must not be handed to another thread. Calling last_error itself does
     * not change it; a syscall that succeeds may leave it as it was, so read
     * it only right after a call that returned an error. The reason is per
     * thread, not per instance: `ctx` may be NULL.
     * Thread: any thread; it reports on the calling one.
     *
     * Returns the reason; it cannot fail.
     */
    const char *(*last_error)(aos_ctx *ctx);

    /* ---- Since ABI 1.7: storage (key-value namespaces in $AGENTOS_HOME/state.sqlite) ---- */

    /*
     * A namespace holds keys, each with a value (bytes) and a version that
     * starts at 1 and grows by one with every put. An instance's own
     * namespace has its name and needs "kv"; any other namespace NAME needs
     * "kv:NAME" (read and write) or "kv:NAME:ro" (kv_get and kv_list only).
     * `ns` NULL names the caller's own namespace. Keys are UTF-8, 1 to
     * AOS_KV_MAX_KEY_BYTES bytes, without NUL; values are 0 to
     * AOS_KV_MAX_VALUE_BYTES bytes. Every call is one transaction: a value is
     * stored whole or not at all, even if the kernel is killed. Writes go
     * through one writer queue; a call waits at most for the writes queued
     * before it, each one statement long. The quotas kv_keys and kv_bytes
     * (keys plus values) bound each namespace the instance writes to.
     * Thread: any thread of the plugin while the instance is loaded.
     */

    /**
     * kv_get — read one key.
     *
     *   aos_status (*kv_get)(aos_ctx *ctx, const char *ns, const char *key,
     *                        aos_buffer *value, uint64_t *version);
     *
     * Stores a copy of the value in `*value` (the caller owns it and frees it
     * with api->release) and, when `version` is not NULL, its version in
     * `*version`. On any error `*value` is {NULL, 0}.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL     `key` or `value` is NULL, or a name is not valid (see last_error)
     *   AOS_ENOTFOUND  the namespace has no such key
     *   AOS_EPERM      this instance does not hold kv (own namespace) or kv:NAME[:ro]
     *   AOS_ESTORAGE   the state database is unavailable (last_error says why)
     */
    aos_status (*kv_get)(aos_ctx *ctx, const char *ns, const char *key, aos_buffer *value, uint64_t *version);

    /**
     * kv_put — store one key, optionally only if it is at an expected version.
     *
     *   aos_status (*kv_put)(aos_ctx *ctx, const char *ns, const char *key, aos_bytes value,
     *                        uint64_t expected_version, uint64_t *new_version);
     *
     * Copies `value`; the caller keeps ownership. `expected_version`
     * AOS_KV_ANY_VERSION writes unconditionally, 0 only if the key is absent,
     * N only if the key is at version N (compare-and-set: of two racing puts
     * expecting the same version, exactly one succeeds). On AOS_OK the new
     * version goes to `*new_version` when it is not NULL.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL     `key` is NULL, empty, not UTF-8 or has NUL, or a name is invalid
     *   AOS_ETOOBIG    the key exceeds AOS_KV_MAX_KEY_BYTES or the value AOS_KV_MAX_VALUE_BYTES
     *   AOS_ECONFLICT  the key is not at `expected_version`
     *   AOS_EQUOTA     the namespace would exceed this instance's kv_keys or kv_bytes
     *   AOS_EPERM      this instance does not hold kv or kv:NAME (":ro" is not enough)
     *   AOS_ESTORAGE   the state database is unavailable (read-only, full, corrupt)
     */
    aos_status (*kv_put)(aos_ctx *ctx, const char *ns, const char *key, aos_bytes value, uint64_t expected_version,
                         uint64_t *new_version);

    /**
     * kv_delete — remove one key, optionally only if it is at an expected version.
     *
     *   aos_status (*kv_delete)(aos_ctx *ctx, const char *ns, const char *key,
     *                           uint64_t expected_version);
     *
     * `expected_version` as in kv_put (AOS_KV_ANY_VERSION: whatever it is).
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL     `key` is NULL or invalid, or a name is invalid
     *   AOS_ENOTFOUND  the namespace has no such key
     *   AOS_ECONFLICT  the key is not at `expected_version`
     *   AOS_EPERM      this instance does not hold kv or kv:NAME
     *   AOS_ESTORAGE   the state database is unavailable
     */
    aos_status (*kv_delete)(aos_ctx *ctx, const char *ns, const char *key, uint64_t expected_version);

    /**
     * kv_list — list keys by prefix, a page at a time.
     *
     *   aos_status (*kv_list)(aos_ctx *ctx, const char *ns, const char *prefix,
     *                         const char *after, uint32_t limit, aos_buffer *json);
     *
     * Stores in `*json` a JSON object {"keys": [{"key", "version", "bytes"}...],
     * "next": KEY or null} with at most `limit` keys (0 or more than
     * AOS_KV_MAX_PAGE: AOS_KV_MAX_PAGE) that start with `prefix` (NULL or "":
     * all) and sort after `after` (NULL: from the first), in byte order.
     * Pass "next" as `after` for the following page; it is null on the last.
     * The caller owns the buffer and frees it with api->release.
     *
     * Returns AOS_OK, or
     *   AOS_EINVAL     `json` is NULL, or a string is not valid UTF-8
     *   AOS_EPERM      this instance does not hold kv or kv:NAME[:ro]
     *   AOS_ESTORAGE   the state database is unavailable
     */
    aos_status (*kv_list)(aos_ctx *ctx, const char *ns, const char *prefix, const char *after, uint32_t limit,
                          aos_buffer *json);

    /* ABI 1.11 and later append here (1.8 and 1.9 added status codes, 1.10 struct fields). */
} aos_kernel_api;

/** Since ABI 1.7: the longest key, in UTF-8 bytes. */
#define AOS_KV_MAX_KEY_BYTES 512
/** Since ABI 1.7: the largest value, in bytes (1 MiB). */
#define AOS_KV_MAX_VALUE_BYTES (1u << 20)
/** Since ABI 1.7: the most keys kv_list returns at once. */
#define AOS_KV_MAX_PAGE 1000
/** Since ABI 1.7: kv_put's and kv_delete's `expected_version` for "whatever version". */
#define AOS_KV_ANY_VERSION UINT64_MAX

/** True when the kernel's table has `field` (it was built with ABI ≥ the one that added it). */
#define AOS_API_HAS(api, field) \
    ((api)->struct_size >= offsetof(aos_kernel_api, field) + sizeof((api)->field))

/* ------------------------------------------------------------------------ */
/* The plugin descriptor                                                    */
/* ------------------------------------------------------------------------ */

/** aos_plugin_descriptor.kind */
#define AOS_KIND_AGENT 1u
#define AOS_KIND_TOOL  2u

/* ------------------------------------------------------------------------ */
/* Tools (since ABI 1.2)                                                    */
/* ------------------------------------------------------------------------ */

/*
 * A tool plugin (kind AOS_KIND_TOOL) exports plain C functions; its
 * descriptor lists them in `tools`. The kernel builds each call with libffi
 * from the signature below, so no glue code is needed:
 *
 *   static double multiply(double a, double b) { return a * b; }
 *   static const aos_tool_param multiply_params[] = {
 *       {"a", AOS_TYPE_DOUBLE, 1, "the first factor"},
 *       {"b", AOS_TYPE_DOUBLE, 1, "the second factor"},
 *   };
 *   static const aos_tool tools[] = {
 *       {.name = "multiply", .description = "a * b", .fn = AOS_TOOL_FN(multiply),
 *        .returns = AOS_TYPE_DOUBLE, .n_params = 2, .params = multiply_params},
 *   };
 */

/** Value types of tool parameters and results, with their C types. */
#define AOS_TYPE_INT32  1u /* int32_t;  JSON integer in range */
#define AOS_TYPE_INT64  2u /* int64_t;  JSON integer in range */
#define AOS_TYPE_UINT32 3u /* uint32_t; JSON integer in range, not negative */
#define AOS_TYPE_UINT64 4u /* uint64_t; JSON integer in range, not negative */
#define AOS_TYPE_DOUBLE 5u /* double;   JSON number, finite */
#define AOS_TYPE_FLOAT  6u /* float;    JSON number, finite in float's range */
#define AOS_TYPE_BOOL   7u /* bool;     JSON true or false */
#define AOS_TYPE_STRING 8u /* parameter: const char *, NUL-terminated UTF-8, lent for the call;
                              result: char *, see aos_tool.free_result */
#define AOS_TYPE_JSON   9u /* result only: char * holding JSON text, see aos_tool.free_result */

/** One parameter of a tool function, in the function's argument order. */
typedef struct aos_tool_param {
    const char *name;        /* the JSON key: [A-Za-z_][A-Za-z0-9_]*, 1-63 bytes, unique in the tool */
    uint32_t type;           /* AOS_TYPE_INT32 .. AOS_TYPE_STRING */
    uint32_t required;       /* 1: the caller must give it; 0: when absent the function
                                gets 0, false, 0.0 or NULL */
    const char *description; /* shown to the model; NULL for none */
} aos_tool_param;

/** aos_tool.flags: the function may run on several threads at once (on the callers'). */
#define AOS_TOOL_THREAD_SAFE 0x1u
/**
 * Since ABI 1.11: aos_tool.flags: a call the model makes in a tool loop waits
 * for an operator. The run pauses (state awaiting_approval) before the call;
 * `agentctl runs approve ID` runs it and the loop goes on, `agentctl runs
 * reject ID --comment TEXT` gives the model the rejection (with the comment)
 * as the tool's result. Calls by code (tool_call, agentctl call) do not wait:
 * capabilities guard those. A caller of infer waits as long as the approval
 * does: use infer_submit for runs that may need one. A kernel before ABI 1.11
 * refuses a tool with this flag (unknown flags are refused).
 */
#define AOS_TOOL_NEEDS_APPROVAL 0x2u

/** A tool function of any signature, as stored in aos_tool.fn. */
typedef void (*aos_tool_fn)(void);
/** Casts a function to aos_tool_fn for aos_tool.fn. */
#define AOS_TOOL_FN(function) ((aos_tool_fn)(function))

/**
 * One tool. Strings and tables are owned by the plugin and must stay valid
 * while the library is loaded (static data is right).
 *
 * The function is called as `returns fn(params...)` with the C types of
 * AOS_TYPE_*; or, when `json_schema` is set, as `char *fn(const char *args_json)`
 * with the arguments as one JSON object (for nested arguments; the kernel
 * checks it is an object whose top-level keys fit the schema). A string or
 * JSON result is copied by the kernel, then passed to `free_result` when that
 * is set; with `free_result` NULL the plugin keeps ownership (return static
 * text, or text valid until the next call on the same thread). A NULL result
 * fails the call with AOS_ETOOL. A tool fails a call with api->tool_error.
 *
 * Tool functions get no state argument: keep state in static data. Each load
 * of a tool plugin is a private copy of its library, so statics are per
 * instance (unlike an agent's: see init).
 * Set them up in init; the kernel calls stop only after every call has
 * returned. A tool may call log, now, self and tool_error with the ctx its
 * init received, from whichever thread runs it.
 */
typedef struct aos_tool {
    const char *name;            /* [A-Za-z0-9_-], 1-63 bytes, unique in the plugin; callers
                                    use "INSTANCE.name", e.g. "calculator.multiply" */
    const char *description;     /* what it does, for the model; one or two sentences */
    aos_tool_fn fn;              /* the function; AOS_TOOL_FN(f) */
    uint32_t returns;            /* AOS_TYPE_* */
    uint32_t flags;              /* AOS_TOOL_THREAD_SAFE, AOS_TOOL_NEEDS_APPROVAL (1.11), or 0 */
    uint32_t n_params;           /* at most 16; 0 with json_schema */
    uint32_t reserved;           /* 0 */
    const aos_tool_param *params;
    const char *json_schema;     /* instead of params: a JSON Schema of the one object argument */
    void (*free_result)(char *result); /* frees a STRING or JSON result, or NULL */
} aos_tool;

/**
 * The one exported symbol of a plugin, named AOS_PLUGIN_SYMBOL.
 *
 * Fill the first five fields with AOS_PLUGIN_HEADER. Every string is owned by
 * the plugin and must stay valid while the library is loaded (string literals
 * are right).
 */
typedef struct aos_plugin_descriptor {
    uint32_t magic;        /* AOS_PLUGIN_MAGIC */
    uint16_t abi_major;    /* AOS_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;    /* AOS_ABI_MINOR the plugin was built with */
    uint32_t struct_size;  /* sizeof(aos_plugin_descriptor) in the plugin's build */
    uint32_t build_id;     /* aos_build_id() in the plugin's build */
    uint32_t kind;         /* AOS_KIND_AGENT or AOS_KIND_TOOL */
    uint32_t reserved;     /* 0 */

    const char *name;        /* default instance name: [A-Za-z0-9_.-], 1-63 bytes */
    const char *version;     /* free-form, e.g. "1.2.0" */
    const char *description; /* one line */
    /* NULL-terminated list of capabilities the plugin will request, or NULL:
     * "infer", "tool:NAME", "send:AGENT" (NAME and AGENT may be globs such as
     * "catalog.*"), "kv" (the storage syscalls on its own namespace,
     * since ABI 1.7), "kv:NS" and "kv:NS:ro" (another namespace), "admin" (plugin_load and
     * plugin_unload); for a process-mode instance's host, "net" (create
     * sockets) and "spawn" (start processes and programs), which its syscall
     * filter refuses otherwise. The operator decides what is granted. */
    const char *const *capabilities;

    /**
     * init — create one instance.
     *
     *   aos_status (*init)(aos_ctx *ctx, const aos_kernel_api *api,
     *                      const char *config, void **state);
     *
     * Called once per instance, on the instance's own thread, before any
     * message. `api` stays valid until stop returns; keep the pointer.
     * `config` is the operator's string (`agentctl load --config`), "" when
     * none, valid only during init. Store per-instance state in `*state`
     * (NULL is fine); the kernel passes it back to on_message and stop.
     * The instances of an agent loaded from the same file content share one
     * copy of its library, so they share its globals and statics: keep
     * per-instance state behind `*state`, never in a global.
     *
     * Return AOS_OK, or any error: the instance is then listed as failed with
     * that status, and stop is not called.
     */
    aos_status (*init)(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state);

    /**
     * on_message — handle one message.
     *
     *   aos_status (*on_message)(aos_ctx *ctx, void *state, const aos_message *msg);
     *
     * Called on the instance's own thread, one message at a time, in mailbox
     * order. `msg` and everything it points to are valid only until this
     * returns. An error return is logged and becomes the instance's last
     * error in `agentctl ps`; for a request not yet answered, the caller gets
     * AOS_EHANDLER.
     */
    aos_status (*on_message)(aos_ctx *ctx, void *state, const aos_message *msg);

    /**
     * stop — destroy the instance. May be NULL.
     *
     *   void (*stop)(aos_ctx *ctx, void *state);
     *
     * Called once, on the instance's own thread, after the last on_message.
     * Free `state` here, and join any thread the plugin started: the library
     * is closed after stop returns. Syscalls other than log, now, self and
     * release return AOS_ESTOPPING from now on.
     */
    void (*stop)(aos_ctx *ctx, void *state);

    /* Since ABI 1.2: tool plugins (kind AOS_KIND_TOOL). init, on_message and stop
     * are optional for them; their tools are callable once init returned
     * AOS_OK, until unload begins. */
    const aos_tool *tools;       /* n_tools tools, or NULL */
    uint32_t n_tools;            /* at most 64 */
    uint32_t reserved2;

    /* Since ABI 1.4: the element sizes of the plugin's tool arrays, so later
     * ABIs can append fields to aos_tool and aos_tool_param. AOS_PLUGIN_HEADER
     * (and aos_plugin_header() in C++) set them; 0, or a descriptor whose
     * struct_size ends before them, means the ABI 1.2 sizes (64 and 24 bytes
     * on 64-bit builds). The kernel reads tools[i] at i * tool_size and a
     * tool's params[j] at j * param_size, and refuses sizes smaller than
     * ABI 1.2's or not a multiple of the pointer size. */
    uint32_t tool_size;          /* sizeof(aos_tool) in the plugin's build */
    uint32_t param_size;         /* sizeof(aos_tool_param) in the plugin's build */

    /* Since ABI 1.6: the language runtime the plugin's code runs on, which it
     * shares with the kernel, or NULL when it needs none (C and C++ plugins).
     * AgentOSKit sets "swift; clang " followed by the version of the
     * toolchain's clang, which names the Swift release: Swift's ABI is not stable on
     * Linux, and a plugin uses the kernel's Swift runtime, so the kernel
     * refuses a plugin built by another toolchain (error runtime_mismatch)
     * before it calls into it. */
    const char *runtime;

    /* Since ABI 1.12: hot reload. When `agentctl reload` (or a file replaced
     * in Plugins/) replaces a running instance with a new one, the old version
     * may hand its state to the new one: save runs on the old instance,
     * restore on the new one before its first message. Either may be NULL;
     * without a save in the old version or a restore in the new one, the new
     * instance keeps what its init made. In process mode both run in the
     * instances' hosts (bytes past about 16 MiB fail as AOS_ETOOBIG); a
     * host that dies in restore is a crash of the new instance, restarted
     * as its policy says with what its init made. */

    /**
     * save — hand this instance's state to the version replacing it. May be NULL.
     *
     *   aos_status (*save)(aos_ctx *ctx, void *state, aos_buffer *out);
     *
     * Called at most once, on the instance's own thread, after its last
     * on_message and before stop, and only when a reload replaces it. Set
     * `*out` to bytes allocated with malloc (the kernel copies them and
     * frees them with free), or leave it {NULL, 0} to hand over nothing.
     * The format is the plugin's own: the new version reads it, so put a
     * version in it. Messages for the new version wait meanwhile.
     *
     * Returns AOS_OK, or any error: the kernel logs it, frees `*out`, and the
     * new version keeps what its init made.
     */
    aos_status (*save)(aos_ctx *ctx, void *state, aos_buffer *out);

    /**
     * restore — take the state the replaced version saved. May be NULL.
     *
     *   aos_status (*restore)(aos_ctx *ctx, void *state, aos_bytes saved);
     *
     * Called at most once, on the instance's own thread, after init returned
     * AOS_OK and before the first on_message, when the instance it replaces
     * saved something. `saved` is valid only during the call.
     *
     * Returns AOS_OK, or any error: the kernel logs it, and the instance runs
     * on with `state` as restore left it (leave it usable).
     */
    aos_status (*restore)(aos_ctx *ctx, void *state, aos_bytes saved);
} aos_plugin_descriptor;

/** Marks the descriptor as the library's one exported symbol. */
#if defined(__GNUC__) || defined(__clang__)
#define AOS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define AOS_PLUGIN_EXPORT
#endif

/**
 * The handshake fields of a descriptor, for a C designated initializer:
 *
 *   AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
 *       AOS_PLUGIN_HEADER,
 *       .kind = AOS_KIND_AGENT,
 *       .name = "echo",
 *       ...
 *   };
 *
 * In C++ use aos_plugin_header() below instead: C++17 has no designated
 * initializers, and C++20's must follow the declaration order, which this
 * macro does not (it also sets tool_size and param_size, the last fields).
 */
#define AOS_PLUGIN_HEADER                                   \
    .magic = AOS_PLUGIN_MAGIC, .abi_major = AOS_ABI_MAJOR,  \
    .abi_minor = AOS_ABI_MINOR,                             \
    .struct_size = sizeof(aos_plugin_descriptor),           \
    .build_id = AOS_BUILD_ID,                               \
    .tool_size = sizeof(aos_tool),                          \
    .param_size = sizeof(aos_tool_param)

#ifdef __cplusplus
} /* extern "C" */

/**
 * aos_plugin_header — AOS_PLUGIN_HEADER for C++: a descriptor whose handshake
 * fields (magic, versions, struct_size, build_id, tool_size, param_size) are
 * set and every other field is zero. Declare the symbol with C linkage (or
 * the kernel will not find it), then define it with a lambda that sets the
 * rest by name (two statements: g++ misreads a lambda inside a one-line
 * extern "C" definition):
 *
 *   extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
 *   const aos_plugin_descriptor aos_plugin = [] {
 *       aos_plugin_descriptor d = aos_plugin_header();
 *       d.kind = AOS_KIND_AGENT;
 *       d.name = "echo";
 *       d.version = "1.0.0";
 *       d.init = echo_init;
 *       d.on_message = echo_on_message;
 *       return d;
 *   }();
 *
 * The lambda is a constant expression, so the descriptor is still constant
 * data, initialised before dlopen returns, as in C.
 */
constexpr aos_plugin_descriptor aos_plugin_header() noexcept {
    aos_plugin_descriptor d{};
    d.magic = AOS_PLUGIN_MAGIC;
    d.abi_major = AOS_ABI_MAJOR;
    d.abi_minor = AOS_ABI_MINOR;
    d.struct_size = sizeof(aos_plugin_descriptor);
    d.build_id = AOS_BUILD_ID;
    d.tool_size = sizeof(aos_tool);
    d.param_size = sizeof(aos_tool_param);
    return d;
}
#endif /* __cplusplus */

#endif /* AGENTOS_H */
