/*
 * support.c — the customer-service agent of a small outdoor shop.
 *
 * It answers customers' questions (requests) from the product catalog
 * (catalog.csv, built into the library) using the kernel's inference
 * syscalls. It submits each question with api->infer_submit and answers
 * when the result arrives as an AOS_MSG_INFERENCE message, so it keeps
 * taking questions while the model works: many customers are served in
 * one continuous batch.
 *
 *   agentctl send support "How much is the Trail Tent 2P?" --wait
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* The catalog, embedded at build time (CATALOG_PATH is set by the Makefile):
 * the kernel loads a private copy of the library, away from this folder. */
__asm__(".section .rodata\n"
        ".global support_catalog\n"
        ".hidden support_catalog\n"
        "support_catalog:\n"
        ".incbin \"" CATALOG_PATH "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char support_catalog[];

/* Questions waiting for the model at once; beyond this, answer blocking. */
#define MAX_PENDING 64

typedef struct {
    const aos_kernel_api *api;
    char *system_prompt; /* instructions + the catalog, one line per product */
    struct {
        uint64_t request_id; /* 0 = free */
        uint64_t question_id;
    } pending[MAX_PENDING];
} support_state;

static const char instructions[] =
    "You are the customer-service agent of Northwind Outdoor, a shop for camping gear. "
    "Answer only from the catalog below. Give prices in US dollars exactly as listed. "
    "If a customer asks about a product that is not in the catalog, say that we do not sell it. "
    "If the question is not about the shop or its products, politely decline. Be brief.\n\n"
    "Catalog (SKU | name | price | stock | description):\n";

/* Renders the CSV catalog (header line skipped) as "SKU | name | $price | N in stock | text" lines. */
static char *build_system_prompt(void) {
    size_t size = sizeof instructions + strlen(support_catalog) * 2 + 64;
    char *out = malloc(size);
    if (!out)
        return NULL;
    size_t len = (size_t)snprintf(out, size, "%s", instructions);
    const char *line = strchr(support_catalog, '\n');
    while (line && *++line) {
        char sku[16], name[64], price[16], description[160];
        unsigned stock;
        if (sscanf(line, "%15[^,],%63[^,],%15[^,],%u,%159[^\n]", sku, name, price, &stock, description) == 5) {
            len += (size_t)snprintf(out + len, size - len, "%s | %s | $%s | %s | %s\n", sku, name, price,
                                    stock ? "in stock" : "out of stock", description);
        }
        line = strchr(line, '\n');
    }
    return out;
}

static aos_status support_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    (void)config;
    if (!AOS_API_HAS(api, infer_cancel)) {
        api->log(ctx, AOS_LOG_ERROR, "this kernel has no inference syscalls (ABI 1.1 needed)");
        return AOS_EABI;
    }
    support_state *s = calloc(1, sizeof *s);
    if (!s)
        return AOS_ENOMEM;
    s->api = api;
    s->system_prompt = build_system_prompt();
    if (!s->system_prompt) {
        free(s);
        return AOS_ENOMEM;
    }
    *state = s;
    return AOS_OK;
}

/* Replies to question `question_id` with the model's text, or a short error. */
static void answer(aos_ctx *ctx, support_state *s, uint64_t question_id, aos_status status,
                   const aos_infer_result *result, aos_bytes text) {
    char line[160];
    if (status != AOS_OK) {
        int n = snprintf(line, sizeof line, "error: %s", aos_status_message(status));
        s->api->reply(ctx, question_id, (aos_bytes){(const uint8_t *)line, (size_t)n});
        return;
    }
    s->api->reply(ctx, question_id, text);
    snprintf(line, sizeof line, "answered question %llu (request %llu): %u prompt + %u generated tokens",
             (unsigned long long)question_id, (unsigned long long)result->request_id,
             result->usage.prompt_tokens, result->usage.completion_tokens);
    s->api->log(ctx, AOS_LOG_INFO, line);
}

static aos_status support_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    support_state *s = state;

    if (msg->flags & AOS_MSG_INFERENCE) { /* a result we submitted earlier */
        for (int i = 0; i < MAX_PENDING; i++) {
            if (s->pending[i].request_id == msg->id) {
                s->pending[i].request_id = 0;
                answer(ctx, s, s->pending[i].question_id, msg->inference->status, msg->inference, msg->body);
                return AOS_OK;
            }
        }
        return AOS_ENOTFOUND;
    }
    if (!(msg->flags & AOS_MSG_REQUEST)) {
        s->api->log(ctx, AOS_LOG_INFO, "ignored a plain message; send questions with --wait");
        return AOS_OK;
    }

    /* The question is the body: copy it into a NUL-terminated string. */
    char *question = malloc(msg->body.len + 1);
    if (!question)
        return AOS_ENOMEM;
    memcpy(question, msg->body.ptr, msg->body.len);
    question[msg->body.len] = '\0';

    aos_chat_message chat[2] = {{"system", s->system_prompt}, {"user", question}};
    aos_infer_request request = {
        .struct_size = sizeof request, .n_messages = 2, .messages = chat,
        .max_tokens = 128, .temperature = 0.0f, .seed = 42,
    };
    int slot = -1;
    for (int i = 0; i < MAX_PENDING && slot < 0; i++)
        if (s->pending[i].request_id == 0)
            slot = i;

    aos_status status;
    if (slot >= 0) {
        uint64_t request_id = 0;
        status = s->api->infer_submit(ctx, &request, &request_id);
        if (status == AOS_OK) {
            s->pending[slot].request_id = request_id;
            s->pending[slot].question_id = msg->id;
        }
    } else { /* every slot of the table is waiting: answer this one in line */
        aos_infer_result result = {.struct_size = sizeof result};
        status = s->api->infer(ctx, &request, &result);
        if (status == AOS_OK)
            answer(ctx, s, msg->id, status, &result, (aos_bytes){result.text.ptr, result.text.len});
        s->api->release(ctx, &result.text);
    }
    free(question); /* the kernel copied it before infer_submit returned */
    if (status != AOS_OK)
        answer(ctx, s, msg->id, status, NULL, (aos_bytes){NULL, 0});
    return AOS_OK;
}

static void support_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    support_state *s = state;
    free(s->system_prompt);
    free(s);
}

static const char *const capabilities[] = {"infer", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "support",
    .version = "1.0.0",
    .description = "Customer-service agent: answers product questions from the shop's catalog.",
    .capabilities = capabilities,
    .init = support_init,
    .on_message = support_on_message,
    .stop = support_stop,
};
