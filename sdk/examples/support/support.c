/*
 * support.c — the customer-service agent of a small outdoor shop.
 *
 * Every request is a customer's question. The agent hands it to the model
 * with the catalog's tools (the catalog plugin: lookup_product,
 * search_products, check_stock); the kernel runs the tool loop — the model
 * calls tools, the kernel runs them and feeds the results back, until the
 * model answers — and the agent replies with the answer.
 *
 * What it shows:
 *   - The tool loop (ABI 1.2): an inference request with `tools`, here the
 *     glob "catalog.*". The agent knows no product; the model looks them up.
 *     The result carries a trace of the calls, which the agent logs.
 *   - api->infer_submit, the asynchronous inference syscall: the agent queues
 *     the question and returns from on_message at once, so it keeps taking
 *     questions while the model works (the kernel batches them together).
 *     The answer comes back later as an AOS_MSG_INFERENCE message; a small
 *     table maps its request id to the customer's message id to reply to.
 *   - api->infer, the blocking one, as the fallback when that table is full.
 *   - Conversations (ABI 1.10): a question sent with a session
 *     (`agentctl send support "..." --session customer-42 --wait`) is asked
 *     in that session, so the kernel adds the customer's earlier questions,
 *     tool calls and answers to the prompt: a follow-up such as "and how
 *     many are in stock?" is about the product asked before. One session per
 *     customer; `agentctl sessions show support customer-42` shows it.
 *
 *   agentctl load build/plugins/catalog.so
 *   agentctl load build/plugins/support.so --grant 'infer,tool:catalog.*'
 *   agentctl send support "How much does the A-200 cost?" --wait
 *
 * Config: "tools=GLOB[,GLOB...]" names the tools to offer the model
 * (default "catalog.*"). The kernel offers only those this agent holds a
 * tool: capability for, whatever the config asks.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

#define MAX_PENDING 64   /* questions in the model at once; then infer blocks */
#define MAX_TOKENS  96   /* the longest model turn, in tokens */
#define MAX_STEPS   4    /* model turns per question: tool calls, then the answer */
#define SEED        42   /* sampling seed: only matters if temperature is raised */
#define TRACE_SHOWN 3000 /* bytes of a tool-loop trace that go into the log */
#define MAX_PATTERNS 8   /* tool globs the config may name */

/* One question waiting for its answer. */
typedef struct pending_question {
    bool used;
    uint64_t request_id;  /* the inference request (infer_submit's id) */
    uint64_t question_id; /* the customer's message, to reply to */
} pending_question;

/* Per-instance state. on_message runs on the instance's own thread, one
 * message at a time, so the table needs no lock. */
typedef struct support_state {
    const aos_kernel_api *api;
    pending_question pending[MAX_PENDING];
    char patterns_text[256];               /* the config's globs, NUL-separated */
    const char *patterns[MAX_PATTERNS];    /* into patterns_text */
    size_t n_patterns;
} support_state;

/* Short: the model is small, and the tools' descriptions (which the kernel
 * adds to the prompt) say what each tool does. */
static const char system_prompt[] =
    "You are the customer service agent of an outdoor gear shop. Use the catalog tools to "
    "answer; answer in one or two sentences, with prices in USD.";

/* The tools the model may call unless the config says otherwise: every tool
 * of the instance named "catalog". The kernel matches the globs when a
 * question is submitted, and refuses it when no loaded tool matches: the
 * catalog may be loaded after this agent, but before the first question. */
static const char default_tools[] = "catalog.*";

/* ------------------------------------------------------------------------ */
/* Answers                                                                  */
/* ------------------------------------------------------------------------ */

static const char *finish_name(uint32_t reason) {
    switch (reason) {
    case AOS_FINISH_STOP: return "stop";
    case AOS_FINISH_LENGTH: return "length";
    case AOS_FINISH_CANCELLED: return "cancelled";
    default: return "?";
    }
}

/* Logs the tool loop's trace: a JSON array with one object per tool call,
 * {"tool", "arguments", "result" or "error", "duration_ns"}, or "[]" when
 * the model answered without one. A long trace is cut to TRACE_SHOWN bytes
 * (the log keeps lines of 4096 bytes at most). */
static void log_trace(aos_ctx *ctx, const support_state *st, uint64_t question_id,
                      const aos_infer_result *result) {
    /* trace came with ABI 1.2: read it only when the kernel's struct has it. */
    if (result->struct_size < offsetof(aos_infer_result, trace) + sizeof result->trace ||
        result->trace.ptr == NULL)
        return;

    const uint8_t *trace = result->trace.ptr;
    size_t n = result->trace.len;
    if (n > TRACE_SHOWN) {
        n = TRACE_SHOWN;
        while (n > 0 && (trace[n] & 0xC0) == 0x80) /* cut on a UTF-8 character boundary */
            n--;
    }
    char line[TRACE_SHOWN + 96];
    snprintf(line, sizeof line, "support: question %" PRIu64 " tool calls: %.*s%s", question_id,
             (int)n, (const char *)trace, n < result->trace.len ? " ..." : "");
    st->api->log(ctx, AOS_LOG_INFO, line);
}

/* Replies to the customer's question `question_id` with the model's answer
 * `text`, or with "error: ..." when `status` says the inference failed, and
 * logs what happened. `result` may be NULL when status is not AOS_OK. */
static void answer(aos_ctx *ctx, const support_state *st, uint64_t question_id,
                   aos_status status, const aos_infer_result *result, aos_bytes text) {
    const aos_kernel_api *api = st->api;
    char line[256];

    /* The tool calls, when the result lists them (a failed one may too). */
    if (result != NULL)
        log_trace(ctx, st, question_id, result);

    /* Cancelled (the instance is being unloaded): the text so far is only
     * part of an answer, so don't give it to the customer. */
    if (status == AOS_OK && result->finish_reason == AOS_FINISH_CANCELLED)
        status = AOS_ECANCELLED;
    if (status != AOS_OK) {
        int n = snprintf(line, sizeof line, "error: %s", aos_status_message(status));
        api->reply(ctx, question_id, (aos_bytes){(const uint8_t *)line, (size_t)n});
        snprintf(line, sizeof line, "support: question %" PRIu64 " failed: %s", question_id,
                 aos_status_name(status));
        api->log(ctx, AOS_LOG_WARN, line);
        return;
    }

    /* reply copies the body, so `text` only has to live until it returns. */
    aos_status replied = api->reply(ctx, question_id, text);
    snprintf(line, sizeof line,
             "support: answered question %" PRIu64 " (request %" PRIu64 "): %" PRIu32
             " prompt + %" PRIu32 " generated tokens, finish %s, %.2f s",
             question_id, result->request_id, result->usage.prompt_tokens,
             result->usage.completion_tokens, finish_name(result->finish_reason),
             (double)result->usage.total_ns / 1e9);
    api->log(ctx, AOS_LOG_INFO, line);
    if (replied != AOS_OK) { /* AOS_ENOTFOUND: the customer's timeout passed first */
        snprintf(line, sizeof line, "support: reply to question %" PRIu64 " failed: %s",
                 question_id, aos_status_name(replied));
        api->log(ctx, AOS_LOG_WARN, line);
    }
}

/* An AOS_MSG_INFERENCE message: the result of one of our infer_submit calls.
 * Its id is the request id, its body the generated text (lent, like every
 * body, until on_message returns) and msg->inference the rest. */
static aos_status on_inference(aos_ctx *ctx, support_state *st, const aos_message *msg) {
    /* A kernel with infer_submit builds messages with the inference field;
     * checking struct_size first is how to read any appended field. */
    if (msg->struct_size <= offsetof(aos_message, inference) || msg->inference == NULL)
        return AOS_EABI;

    for (size_t i = 0; i < MAX_PENDING; i++) {
        pending_question *p = &st->pending[i];
        if (p->used && p->request_id == msg->id) {
            p->used = false; /* exactly one result arrives per request */
            answer(ctx, st, p->question_id, msg->inference->status, msg->inference, msg->body);
            return AOS_OK;
        }
    }
    char line[96];
    snprintf(line, sizeof line, "support: result of unknown request %" PRIu64, msg->id);
    st->api->log(ctx, AOS_LOG_WARN, line);
    return AOS_OK;
}

/* A customer's question (a request): submit it, or answer it at once when
 * the table is full. */
static aos_status on_question(aos_ctx *ctx, support_state *st, const aos_message *msg) {
    const aos_kernel_api *api = st->api;

    if (msg->body.len == 0) {
        static const char empty[] = "error: ask a question about our products";
        return api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)empty, sizeof empty - 1});
    }

    /* The body is bytes without a NUL; a chat message is a C string. */
    char *question = malloc(msg->body.len + 1);
    if (question == NULL)
        return AOS_ENOMEM; /* the customer gets AOS_EHANDLER */
    memcpy(question, msg->body.ptr, msg->body.len);
    question[msg->body.len] = '\0';

    aos_chat_message chat[2] = {
        {.role = "system", .content = system_prompt},
        {.role = "user", .content = question},
    };
    /* Zero-initialised: every field left out takes its default. */
    aos_infer_request request = {
        .struct_size = sizeof request,
        .n_messages = 2,
        .messages = chat,
        .max_tokens = MAX_TOKENS,
        .temperature = 0.0f, /* greedy: the most likely answer */
        .seed = SEED,
        .tools = st->patterns,
        .n_tools = st->n_patterns,
        /* The first turn must call a tool: the model knows no product, and a
         * small one would rather guess a price than look it up. */
        .tool_choice = AOS_TOOL_CHOICE_REQUIRED,
        .max_steps = MAX_STEPS,
        /* The customer's session, when the question came with one (a kernel
         * before ABI 1.10 neither sends nor reads it). */
        .session = api->abi_minor >= 10 && msg->struct_size > offsetof(aos_message, session) ? msg->session : NULL,
    };

    pending_question *slot = NULL;
    for (size_t i = 0; i < MAX_PENDING && slot == NULL; i++)
        if (!st->pending[i].used)
            slot = &st->pending[i];

    aos_status status;
    if (slot != NULL) {
        /* Returns once the request is queued; the kernel has copied the
         * chat by then, so `question` can be freed below. The result cannot
         * arrive before we record it: it is a message, and messages wait
         * until this on_message returns. */
        uint64_t request_id = 0;
        status = api->infer_submit(ctx, &request, &request_id);
        if (status == AOS_OK)
            *slot = (pending_question){.used = true, .request_id = request_id,
                                       .question_id = msg->id};
    } else {
        /* Every slot is waiting: answer this one in line. Other messages
         * wait in the mailbox meanwhile; the handler deadline is paused. */
        aos_infer_result result = {.struct_size = sizeof result};
        status = api->infer(ctx, &request, &result);
        if (status == AOS_OK)
            answer(ctx, st, msg->id, AOS_OK, &result,
                   (aos_bytes){result.text.ptr, result.text.len});
        api->release(ctx, &result.text); /* ours to free; {NULL, 0} on failure is fine too */
        api->release(ctx, &result.trace);
    }
    free(question);

    if (status != AOS_OK) /* refused before it was queued: no catalog, AOS_EFULL, ... */
        answer(ctx, st, msg->id, status, NULL, (aos_bytes){NULL, 0});
    return AOS_OK;
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                      */
/* ------------------------------------------------------------------------ */

/* Reads "tools=GLOB[,GLOB...]" (or "" for the default) into st->patterns. */
static bool read_config(support_state *st, const char *config) {
    const char *globs = default_tools;
    if (config[0] != '\0') {
        if (strncmp(config, "tools=", 6) != 0 || config[6] == '\0')
            return false;
        globs = config + 6;
    }
    if (strlen(globs) >= sizeof st->patterns_text)
        return false;
    strcpy(st->patterns_text, globs);
    /* Split at commas in place; an empty glob ("a,,b") is an error. */
    char *glob = st->patterns_text;
    for (char *p = st->patterns_text;; p++) {
        if (*p != ',' && *p != '\0')
            continue;
        bool last = *p == '\0';
        *p = '\0';
        if (*glob == '\0' || st->n_patterns == MAX_PATTERNS)
            return false;
        st->patterns[st->n_patterns++] = glob;
        if (last)
            return true;
        glob = p + 1;
    }
}

static aos_status support_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                               void **state) {
    /* Syscalls are appended to the table, never moved: a kernel that has
     * tool_call (ABI 1.2) runs the tool loop of an inference request, and
     * has infer_submit and infer (ABI 1.1) too. An older one would not know
     * the request's tool fields. */
    if (!AOS_API_HAS(api, tool_call)) {
        api->log(ctx, AOS_LOG_ERROR, "support: this kernel has no tool loop (ABI 1.2)");
        return AOS_EABI;
    }

    support_state *st = calloc(1, sizeof *st); /* calloc: every slot starts unused */
    if (st == NULL)
        return AOS_ENOMEM;
    st->api = api;
    if (!read_config(st, config)) {
        api->log(ctx, AOS_LOG_ERROR,
                 "support: config must be empty or tools=GLOB[,GLOB...] (at most 8, 255 bytes)");
        free(st);
        return AOS_EINVAL;
    }
    *state = st;
    return AOS_OK;
}

static aos_status support_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    support_state *st = state;

    if (msg->flags & AOS_MSG_INFERENCE)
        return on_inference(ctx, st, msg);
    if (msg->flags & AOS_MSG_REQUEST)
        return on_question(ctx, st, msg);

    /* A plain send: nobody waits for an answer, so there is no one to tell. */
    char line[256];
    snprintf(line, sizeof line,
             "support: ignored a plain message (%zu bytes) from %.63s; ask with a request "
             "(agentctl send --wait)",
             msg->body.len, msg->from);
    st->api->log(ctx, AOS_LOG_INFO, line);
    return AOS_OK;
}

/* When it unloads the instance, the kernel cancels the requests still in
 * the table: a result already in the mailbox is delivered (and answered as
 * cancelled), the rest never arrive and their customers get AOS_ESTOPPING.
 * So there is nothing to do here but free. */
static void support_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    free(state);
}

/* "infer" asks the operator for the model, "tool:catalog.*" for the catalog's
 * tools (the tool loop calls them with this agent's rights); the kernel
 * decides what is granted. */
static const char *const support_capabilities[] = {"infer", "tool:catalog.*", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "support",
    .version = "1.3.0",
    .description = "Customer service: answers product questions with the catalog's tools.",
    .capabilities = support_capabilities,
    .init = support_init,
    .on_message = support_on_message,
    .stop = support_stop,
};
