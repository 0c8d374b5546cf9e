/*
 * agent.c — a minimal AgentOS agent: copy this folder to start your own.
 *
 * An agent is a shared library that exports one symbol, `aos_plugin` (the
 * descriptor at the bottom of this file). The kernel dlopens the library,
 * checks the descriptor, starts a thread for each instance and calls:
 *
 *   init        once, before any message: set up per-instance state
 *   on_message  once per message, one at a time, in mailbox order
 *   stop        once, after the last message: free the state
 *
 * All three run on the instance's own thread, so the state needs no lock.
 * Build with `make`; load the result with `agentctl load ./agent.so`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* Per-instance state. init allocates it; the kernel hands it back to
 * on_message and stop. Two instances of this plugin get two of these. */
typedef struct agent_state {
    const aos_kernel_api *api; /* the syscall table: valid until stop returns */
    uint64_t greetings;        /* requests answered so far */
} agent_state;

/* init: `config` is the operator's `agentctl load --config` string ("" when
 * none) and is only valid during this call, so copy whatever you keep. */
static aos_status agent_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                             void **state) {
    (void)config; /* this agent takes no configuration */

    agent_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return AOS_ENOMEM; /* any error marks the instance failed; stop is not called */
    st->api = api;         /* on_message does not receive `api`: keep it */
    *state = st;

    api->log(ctx, AOS_LOG_INFO, "agent: started");
    return AOS_OK;
}

/* on_message: `msg` and everything it points to (`from`, the body bytes) are
 * owned by the kernel and valid only until this returns. The body is bytes,
 * not a C string: it carries its length and no terminating NUL. */
static aos_status agent_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    agent_state *st = state;
    char text[160];

    snprintf(text, sizeof text, "agent: %zu bytes from %s", msg->body.len, msg->from);
    st->api->log(ctx, AOS_LOG_INFO, text); /* log copies `text`; it never fails a line */

    /* A plain send expects nothing back. A request's sender is blocked in
     * api->call until we answer it with api->reply(msg->id, ...). */
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;

    st->greetings++;
    snprintf(text, sizeof text, "hello, %s (greeting %llu)", msg->from,
             (unsigned long long)st->greetings);
    aos_bytes reply = {(const uint8_t *)text, strlen(text)};

    /* reply copies the body, so a stack buffer is fine. Returning an error
     * from on_message instead would hand the caller AOS_EHANDLER. */
    aos_status status = st->api->reply(ctx, msg->id, reply);
    /* A status names the failure; last_error (ABI 1.4) says why, until this
     * thread's next syscall. Check the kernel has it before calling it. */
    if (status != AOS_OK && AOS_API_HAS(st->api, last_error)) {
        snprintf(text, sizeof text, "agent: reply failed: %s", st->api->last_error(ctx));
        st->api->log(ctx, AOS_LOG_WARN, text);
    }
    return status;
}

/* stop: the last call into this instance. Free what init allocated. */
static void agent_stop(aos_ctx *ctx, void *state) {
    agent_state *st = state;
    st->api->log(ctx, AOS_LOG_INFO, "agent: stopped"); /* log still works in stop */
    free(st);
}

/* The descriptor: the one symbol the kernel looks up. AOS_PLUGIN_HEADER fills
 * the handshake fields (magic, ABI version, struct size, build id, tool
 * element sizes) that the kernel checks before it calls anything (in C++, use
 * aos_plugin_header(); agentos.h shows how). Its strings must stay valid
 * while the library is loaded; string literals do. */
AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "agent", /* default instance name: [A-Za-z0-9_.-], 1-63 bytes; pick yours */
    .version = "0.1.0",
    .description = "Logs every message and greets whoever sends a request.",
    .capabilities = NULL, /* replying and logging need no capability */
    .init = agent_init,
    .on_message = agent_on_message,
    .stop = agent_stop,
};
