/*
 * support.c — the customer-service agent of a small outdoor shop.
 *
 * Every request is a customer's question. The agent asks the model with a
 * system prompt that holds the shop's rules and its whole catalog
 * (catalog.csv, built into this library), and replies with the answer.
 *
 * What it shows:
 *   - api->infer_submit, the asynchronous inference syscall: the agent queues
 *     the question and returns from on_message at once, so it keeps taking
 *     questions while the model works (the kernel batches them together).
 *     The answer comes back later as an AOS_MSG_INFERENCE message; a small
 *     table maps its request id to the customer's message id to reply to.
 *   - api->infer, the blocking one, as the fallback when that table is full.
 *   - Embedding a data file in the .so, which must be self-contained: the
 *     kernel loads a private copy of the library, away from this folder.
 *
 *   agentctl send support "How much is the Trail Tent 2P?" --wait
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* ------------------------------------------------------------------------ */
/* The catalog, embedded at build time                                      */
/* ------------------------------------------------------------------------ */

/* The assembler's .incbin copies a file's bytes into the object file; the
 * ".byte 0" after it makes them a C string. The Makefile passes the file's
 * absolute path as CATALOG_PATH; without it, "catalog.csv" is looked up in
 * the current directory, then in the -I directories (gcc hands its -I to
 * the assembler, clang's integrated assembler honours it too), so
 * `cc -I sdk/examples/support ...` works by hand. ".hidden" keeps the symbol
 * out of the library's exports: aos_plugin stays the only one. */
#ifndef CATALOG_PATH
#define CATALOG_PATH "catalog.csv"
#endif
__asm__(".section .rodata\n"
        ".global support_catalog\n"
        ".hidden support_catalog\n"
        "support_catalog:\n"
        ".incbin \"" CATALOG_PATH "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char support_catalog[] __attribute__((visibility("hidden")));

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

#define SHOP_NAME   "Northwind Outdoor"
#define MAX_PENDING 64  /* questions in the model at once; then infer blocks */
#define MAX_TOKENS  128 /* the longest answer, in tokens */
#define SEED        42  /* sampling seed: only matters if temperature is raised */

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
    char *system_prompt; /* the rules, then the catalog, one line per product */
    pending_question pending[MAX_PENDING];
} support_state;

static const char rules[] =
    "You are the customer-service agent of " SHOP_NAME ", a shop for outdoor gear. "
    "Answer only from the catalog below; give prices exactly as listed. "
    "If a product is not in the catalog, say that we do not sell it. "
    "Decline questions unrelated to the shop. Be brief.\n\n"
    "Catalog (SKU | name | price | stock | description):\n";

/* ------------------------------------------------------------------------ */
/* The system prompt                                                        */
/* ------------------------------------------------------------------------ */

/* A field of a CSV line; an int length, as printf's "%.*s" wants. */
typedef struct field {
    const char *ptr;
    int len;
} field;

/* Splits the line [line, end) into sku, name, price_usd, stock, description.
 * The description is the rest of the line. False for a malformed line. */
static bool split_product(const char *line, const char *end, field f[5]) {
    for (int i = 0; i < 5; i++) {
        const char *stop = end;
        if (i < 4) {
            stop = memchr(line, ',', (size_t)(end - line));
            if (stop == NULL)
                return false;
        }
        f[i] = (field){line, (int)(stop - line)};
        line = stop + 1;
    }
    return f[0].len > 0 && f[1].len > 0 && f[2].len > 0 && f[3].len > 0;
}

/* Renders the catalog (its header line skipped) as lines like
 *   A-100 | Trail Tent 2P | $199.00 | 4 in stock | Two-person tent...
 * into `out`, snprintf-style: writes at most `size` bytes (NUL included)
 * and returns the length the whole text needs. Call it with (NULL, 0) to
 * measure, allocate, then call it again to fill. */
static size_t render_catalog(char *out, size_t size, unsigned *products) {
    size_t len = 0;
    *products = 0;

    const char *line = strchr(support_catalog, '\n');
    while (line != NULL && *++line != '\0') {
        const char *end = strchr(line, '\n');
        const char *next = end;
        if (end == NULL)
            end = line + strlen(line);
        if (end > line && end[-1] == '\r') /* a catalog saved with CRLF */
            end--;

        field f[5];
        if (split_product(line, end, f)) {
            char stock[32] = "out of stock";
            if (f[3].len != 1 || f[3].ptr[0] != '0')
                snprintf(stock, sizeof stock, "%.*s in stock", f[3].len, f[3].ptr);
            /* Past the end of `out`, only count: snprintf(NULL, 0, ...) measures. */
            int n = snprintf(len < size ? out + len : NULL, len < size ? size - len : 0,
                             "%.*s | %.*s | $%.*s | %s | %.*s\n", f[0].len, f[0].ptr, f[1].len,
                             f[1].ptr, f[2].len, f[2].ptr, stock, f[4].len, f[4].ptr);
            if (n > 0)
                len += (size_t)n;
            (*products)++;
        }
        line = next;
    }
    return len;
}

/* The rules followed by the catalog, in one malloc'd string, or NULL. */
static char *build_system_prompt(unsigned *products) {
    size_t catalog_len = render_catalog(NULL, 0, products);
    char *prompt = malloc(sizeof rules + catalog_len); /* sizeof counts the NUL */
    if (prompt == NULL)
        return NULL;
    memcpy(prompt, rules, sizeof rules - 1);
    render_catalog(prompt + sizeof rules - 1, catalog_len + 1, products);
    return prompt;
}

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

/* Replies to the customer's question `question_id` with the model's answer
 * `text`, or with "error: ..." when `status` says the inference failed, and
 * logs one line about it. `result` may be NULL when status is not AOS_OK. */
static void answer(aos_ctx *ctx, const support_state *st, uint64_t question_id,
                   aos_status status, const aos_infer_result *result, aos_bytes text) {
    const aos_kernel_api *api = st->api;
    char line[256];

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
        {.role = "system", .content = st->system_prompt},
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
    }
    free(question);

    if (status != AOS_OK) /* refused before it was queued: AOS_EFULL, AOS_ETOOBIG, ... */
        answer(ctx, st, msg->id, status, NULL, (aos_bytes){NULL, 0});
    return AOS_OK;
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                      */
/* ------------------------------------------------------------------------ */

static aos_status support_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                               void **state) {
    (void)config; /* no configuration */

    /* Syscalls are appended to the table, never moved: a kernel that has
     * infer_submit (ABI 1.1) has infer too. An older kernel has neither. */
    if (!AOS_API_HAS(api, infer_submit)) {
        api->log(ctx, AOS_LOG_ERROR, "support: this kernel has no inference syscalls (ABI 1.1)");
        return AOS_EABI;
    }

    support_state *st = calloc(1, sizeof *st); /* calloc: every slot starts unused */
    if (st == NULL)
        return AOS_ENOMEM;
    unsigned products = 0;
    st->api = api;
    st->system_prompt = build_system_prompt(&products);
    if (st->system_prompt == NULL) {
        free(st); /* a failed init gets no stop call: clean up here */
        return AOS_ENOMEM;
    }
    *state = st;

    char line[128];
    snprintf(line, sizeof line, "support: %u products in the catalog, system prompt %zu bytes",
             products, strlen(st->system_prompt));
    api->log(ctx, AOS_LOG_INFO, line);
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
    support_state *st = state;
    free(st->system_prompt);
    free(st);
}

/* "infer" asks the operator for the model; the kernel decides what is granted. */
static const char *const support_capabilities[] = {"infer", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "support",
    .version = "1.1.0",
    .description = "Customer service: answers product questions from the shop's catalog.",
    .capabilities = support_capabilities,
    .init = support_init,
    .on_message = support_on_message,
    .stop = support_stop,
};
