/*
 * summarizer.c — summarizes the text it is sent, streaming.
 *
 * Each request's body is a text to summarize. The agent calls
 * api->infer_stream: the kernel hands it each piece of the summary as the
 * model generates it, and the agent writes every finished line to its log,
 * so `agentctl logs -f summarizer` shows the summary arriving. The whole
 * summary is the reply.
 *
 *   agentctl send summarizer "$(cat notes.txt)" --wait
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* The summary as it streams in: the text so far and the start of the unlogged line. */
typedef struct {
    aos_ctx *ctx;
    const aos_kernel_api *api;
    char text[4096];
    size_t len;
    size_t logged; /* text[logged..len) is not in the log yet */
} summary;

/* Logs text[logged..end) as one line. */
static void log_line(summary *s, size_t end) {
    char line[sizeof s->text + 16];
    snprintf(line, sizeof line, "summary: %.*s", (int)(end - s->logged), s->text + s->logged);
    s->api->log(s->ctx, AOS_LOG_INFO, line);
    s->logged = end;
}

/* The streaming callback: runs on this instance's thread for each piece. */
static aos_status on_piece(void *user, const char *piece, size_t len) {
    summary *s = user;
    if (s->len + len >= sizeof s->text)
        return AOS_ETOOBIG; /* cancels the request; we keep what fits */
    memcpy(s->text + s->len, piece, len);
    s->len += len;
    for (size_t i = s->logged; i < s->len; i++) {
        if (s->text[i] == '\n') {
            log_line(s, i);
            s->logged = i + 1;
        } else if (i - s->logged >= 72 && s->text[i] == ' ') { /* wrap long lines at a word */
            log_line(s, i + 1);
        }
    }
    return AOS_OK;
}

static aos_status summarizer_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    (void)config;
    if (!AOS_API_HAS(api, infer_stream)) {
        api->log(ctx, AOS_LOG_ERROR, "this kernel has no inference syscalls (ABI 1.1 needed)");
        return AOS_EABI;
    }
    *state = (void *)api;
    return AOS_OK;
}

static aos_status summarizer_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = state;
    if (!(msg->flags & AOS_MSG_REQUEST))
        return AOS_OK;
    if (msg->body.len == 0) {
        static const char empty[] = "error: nothing to summarize";
        return api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)empty, sizeof empty - 1});
    }

    char *text = malloc(msg->body.len + 1);
    summary *s = calloc(1, sizeof *s);
    if (!text || !s) {
        free(text);
        free(s);
        return AOS_ENOMEM;
    }
    memcpy(text, msg->body.ptr, msg->body.len);
    text[msg->body.len] = '\0';
    s->ctx = ctx;
    s->api = api;

    aos_chat_message chat[2] = {
        {"system", "Summarize the user's text in two or three sentences. Keep names and numbers."},
        {"user", text},
    };
    aos_infer_request request = {
        .struct_size = sizeof request, .n_messages = 2, .messages = chat, .max_tokens = 160,
    };
    aos_infer_result result = {.struct_size = sizeof result};
    aos_status status = api->infer_stream(ctx, &request, on_piece, s, &result);
    if (status == AOS_OK) {
        if (s->logged < s->len)
            log_line(s, s->len);
        status = api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)s->text, s->len});
    } else {
        char line[64];
        int n = snprintf(line, sizeof line, "error: %s", aos_status_message(status));
        status = api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)line, (size_t)n});
    }
    api->release(ctx, &result.text); /* the same text as s->text; we replied from our copy */
    free(text);
    free(s);
    return status;
}

static const char *const capabilities[] = {"infer", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "summarizer",
    .version = "1.0.0",
    .description = "Summarizes the text it is sent, streaming the summary to its log.",
    .capabilities = capabilities,
    .init = summarizer_init,
    .on_message = summarizer_on_message,
    .stop = NULL,
};
