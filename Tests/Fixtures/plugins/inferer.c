/*
 * inferer.c — drives the inference syscalls for the integration tests.
 *
 * A message's body is "COMMAND MAX_TOKENS PROMPT" (PROMPT is the rest). A
 * request is answered with one line:
 *
 *   ok|FINISH|PROMPT_TOKENS|COMPLETION_TOKENS|EXTRA|TEXT     on success
 *   err|AOS_E...                                            on failure
 *
 * FINISH is stop, length or cancelled; EXTRA is command-specific ("-" if none).
 *
 *   block        api->infer, greedy, seed 0
 *   again        api->infer twice with the same prompt; answers the second,
 *                EXTRA "cached=N,first=M": cached_tokens of the second and the first
 *   old          api->infer with an ABI 1.4 result (struct_size without cached_tokens);
 *                EXTRA "canary=N": what the field it did not cover holds afterwards (77)
 *   sample       api->infer, temperature 0.8, top_p 0.9, seed 7
 *   stream       api->infer_stream; EXTRA is "pieces=N,match=1" when the
 *                pieces concatenated equal the result's text
 *   cancelafter  api->infer_stream whose callback cancels after 3 pieces
 *   submit       api->infer_submit; replies when the result message arrives
 *   submitcancel api->infer_submit, then api->infer_cancel at once
 *   json         api->infer with a JSON Schema {name: string, price: number}
 *   grammar      api->infer with the GBNF grammar `root ::= ("yes" | "no")`
 *   stop         api->infer with stop string "."
 *   bad-KIND     a malformed request: utf8, role, nomessages, struct, both,
 *                grammar, schema, stops, nullcontent
 *   wrongthread  api->infer from a thread of the plugin's own
 *   long         PROMPT repeated MAX_TOKENS times, max_tokens 16 (to overflow the context)
 *
 * A message sent with a session (ABI 1.10, `--session ID`) runs its command in
 * that session (aos_infer_request.session = msg->session). Session commands:
 *
 *   summarize    api->infer in the message's session with AOS_SESSION_SUMMARIZE
 *   oldsession   api->infer with an ABI 1.9 request (struct_size ends before
 *                `session`): the kernel must not read the session
 *   bad-session  session "not a valid id!"; bad-policy: session_policy 9;
 *                bad-busy: session_busy 9;
 *                bad-onlysystem: only the system message, in the message's session
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

#define MAX_PENDING 64

typedef struct {
    const aos_kernel_api *api;
    struct { uint64_t request_id, message_id; } pending[MAX_PENDING];
} inferer_state;

typedef struct {
    char text[8192];
    size_t len;
    int pieces;
    int cancel_after; /* 0 = never */
} collector;

static aos_status collect(void *user, const char *piece, size_t len) {
    collector *c = user;
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, piece, len);
        c->len += len;
    }
    c->pieces++;
    return c->cancel_after && c->pieces >= c->cancel_after ? AOS_ECANCELLED : AOS_OK;
}

static const char *finish_name(uint32_t reason) {
    switch (reason) {
    case AOS_FINISH_STOP: return "stop";
    case AOS_FINISH_LENGTH: return "length";
    case AOS_FINISH_CANCELLED: return "cancelled";
    default: return "?";
    }
}

/* Replies to request `id` with the result line. */
static void answer(aos_ctx *ctx, const aos_kernel_api *api, uint64_t id, aos_status status,
                   const aos_infer_result *result, const uint8_t *text, size_t len, const char *extra) {
    char *line = malloc(len + 256);
    int n;
    if (!line)
        return;
    if (status != AOS_OK)
        n = snprintf(line, 256, "err|%s", aos_status_name(status));
    else
        n = snprintf(line, 256, "ok|%s|%u|%u|%s|", finish_name(result->finish_reason),
                     result->usage.prompt_tokens, result->usage.completion_tokens, extra);
    if (status == AOS_OK && len > 0)
        memcpy(line + n, text, len);
    api->reply(ctx, id, (aos_bytes){(const uint8_t *)line, (size_t)n + (status == AOS_OK ? len : 0)});
    free(line);
}

typedef struct {
    const aos_kernel_api *api;
    aos_ctx *ctx;
    aos_status status;
} thread_call;

static void *infer_elsewhere(void *arg) {
    thread_call *call = arg;
    aos_chat_message m = {"user", "hi"};
    aos_infer_request r = {.struct_size = sizeof r, .n_messages = 1, .messages = &m, .max_tokens = 4};
    aos_infer_result res = {.struct_size = sizeof res};
    call->status = call->api->infer(call->ctx, &r, &res);
    return NULL;
}

static aos_status inferer_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    (void)ctx;
    (void)config;
    if (!AOS_API_HAS(api, infer_cancel))
        return AOS_EABI;
    inferer_state *s = calloc(1, sizeof *s);
    if (!s)
        return AOS_ENOMEM;
    s->api = api;
    *state = s;
    return AOS_OK;
}

static aos_status on_result(aos_ctx *ctx, inferer_state *s, const aos_message *msg) {
    for (int i = 0; i < MAX_PENDING; i++) {
        if (s->pending[i].request_id != msg->id)
            continue;
        s->pending[i].request_id = 0;
        const aos_infer_result *r = msg->inference;
        answer(ctx, s->api, s->pending[i].message_id, r->status, r, msg->body.ptr, msg->body.len, "async");
        return AOS_OK;
    }
    return AOS_ENOTFOUND;
}

static aos_status inferer_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    inferer_state *s = state;
    const aos_kernel_api *api = s->api;
    if (msg->flags & AOS_MSG_INFERENCE)
        return on_result(ctx, s, msg);
    /* A plain message runs too; its answer has no one to go to (reply fails, harmlessly). */

    char body[4096], command[32];
    unsigned max_tokens = 0;
    int offset = 0;
    size_t len = msg->body.len < sizeof body - 1 ? msg->body.len : sizeof body - 1;
    memcpy(body, msg->body.ptr, len);
    body[len] = '\0';
    if (sscanf(body, "%31s %u %n", command, &max_tokens, &offset) < 2)
        return AOS_EINVAL;
    const char *prompt = body + offset;

    aos_chat_message messages[2] = {{"system", "You are a helpful assistant. Answer briefly."}, {"user", prompt}};
    aos_infer_request r = {.struct_size = sizeof r, .n_messages = 2, .messages = messages, .max_tokens = max_tokens};
    aos_infer_result res = {.struct_size = sizeof res};
    collector c = {.len = 0};
    char extra[64] = "-";
    aos_status status;
    const char *stops[9] = {".", ".", ".", ".", ".", ".", ".", ".", "."};
    char bad[] = {'h', (char)0xC3, (char)0x28, 0};
    char *long_prompt = NULL;
    if (msg->struct_size > offsetof(aos_message, session) && msg->session != NULL)
        r.session = msg->session;

    if (!strcmp(command, "block")) {
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "again")) {
        status = api->infer(ctx, &r, &res);
        if (status == AOS_OK) {
            uint32_t first = res.cached_tokens;
            api->release(ctx, &res.text);
            res = (aos_infer_result){.struct_size = sizeof res};
            status = api->infer(ctx, &r, &res);
            snprintf(extra, sizeof extra, "cached=%u,first=%u", res.cached_tokens, first);
        }
    } else if (!strcmp(command, "old")) {
        res.struct_size = offsetof(aos_infer_result, cached_tokens);
        res.cached_tokens = 77;
        status = api->infer(ctx, &r, &res);
        snprintf(extra, sizeof extra, "canary=%u", res.cached_tokens);
    } else if (!strcmp(command, "sample")) {
        r.temperature = 0.8f;
        r.top_p = 0.9f;
        r.seed = 7;
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "stream") || !strcmp(command, "cancelafter")) {
        c.cancel_after = command[0] == 'c' ? 3 : 0;
        status = api->infer_stream(ctx, &r, collect, &c, &res);
        if (status == AOS_OK)
            snprintf(extra, sizeof extra, "pieces=%d,match=%d", c.pieces,
                     c.len == res.text.len && memcmp(c.text, res.text.ptr, c.len) == 0);
    } else if (!strcmp(command, "submit") || !strcmp(command, "submitcancel")) {
        int slot = -1;
        for (int i = 0; i < MAX_PENDING && slot < 0; i++)
            if (s->pending[i].request_id == 0)
                slot = i;
        if (slot < 0)
            return AOS_EFULL;
        uint64_t id = 0;
        status = api->infer_submit(ctx, &r, &id);
        if (status == AOS_OK) {
            s->pending[slot].request_id = id;
            s->pending[slot].message_id = msg->id;
            if (command[6] == 'c' && api->infer_cancel(ctx, id) != AOS_OK)
                api->log(ctx, AOS_LOG_ERROR, "infer_cancel failed");
            return AOS_OK; /* answered when the result arrives */
        }
    } else if (!strcmp(command, "json")) {
        r.json_schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                        "\"price\":{\"type\":\"number\"}},\"required\":[\"name\",\"price\"]}";
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "grammar")) {
        r.grammar = "root ::= (\"yes\" | \"no\")";
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "stop")) {
        r.stop = stops;
        r.n_stop = 1;
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "wrongthread")) {
        thread_call call = {api, ctx, AOS_OK};
        pthread_t thread;
        if (pthread_create(&thread, NULL, infer_elsewhere, &call) != 0)
            return AOS_EINTERNAL;
        pthread_join(thread, NULL);
        status = call.status;
    } else if (!strcmp(command, "long")) {
        size_t unit = strlen(prompt) + 1;
        long_prompt = malloc(unit * max_tokens + 1);
        if (!long_prompt)
            return AOS_ENOMEM;
        for (unsigned i = 0; i < max_tokens; i++) {
            memcpy(long_prompt + i * unit, prompt, unit - 1);
            long_prompt[i * unit + unit - 1] = ' ';
        }
        long_prompt[unit * max_tokens] = '\0';
        messages[1].content = long_prompt;
        r.max_tokens = 16;
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "summarize")) {
        r.session_policy = AOS_SESSION_SUMMARIZE;
        status = api->infer(ctx, &r, &res);
    } else if (!strcmp(command, "oldsession")) {
        r.struct_size = offsetof(aos_infer_request, session);
        r.session = "never read";
        r.session_policy = 77;
        status = api->infer(ctx, &r, &res);
    } else if (!strncmp(command, "bad-", 4)) {
        const char *kind = command + 4;
        if (!strcmp(kind, "utf8")) messages[1].content = bad;
        else if (!strcmp(kind, "role")) messages[1].role = "wizard";
        else if (!strcmp(kind, "nomessages")) r.n_messages = 0;
        else if (!strcmp(kind, "struct")) r.struct_size = 8;
        else if (!strcmp(kind, "both")) { r.grammar = "root ::= \"a\""; r.json_schema = "{\"type\":\"object\"}"; }
        else if (!strcmp(kind, "grammar")) r.grammar = "root ::= (unclosed";
        else if (!strcmp(kind, "schema")) r.json_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"money\"}}}";
        else if (!strcmp(kind, "stops")) { r.stop = stops; r.n_stop = 9; }
        else if (!strcmp(kind, "nullcontent")) messages[1].content = NULL;
        else if (!strcmp(kind, "session")) r.session = "not a valid id!";
        else if (!strcmp(kind, "policy")) { r.session = "s1"; r.session_policy = 9; }
        else if (!strcmp(kind, "busy")) { r.session = "s1"; r.session_busy = 9; }
        else if (!strcmp(kind, "onlysystem")) r.n_messages = 1;
        else return AOS_EINVAL;
        status = api->infer(ctx, &r, &res);
    } else {
        return AOS_EINVAL;
    }
    answer(ctx, api, msg->id, status, &res, res.text.ptr, res.text.len, extra);
    api->release(ctx, &res.text);
    free(long_prompt);
    return AOS_OK;
}

static void inferer_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    free(state);
}

static const char *const capabilities[] = {"infer", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "inferer",
    .version = "0",
    .description = "Test fixture: runs the inference syscalls as its messages say.",
    .capabilities = capabilities,
    .init = inferer_init,
    .on_message = inferer_on_message,
    .stop = inferer_stop,
};
