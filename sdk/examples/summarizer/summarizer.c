/*
 * summarizer.c — summarizes the text it is sent, streaming.
 *
 * Each request's body is a text to summarize. The agent calls
 * api->infer_stream: while the model generates, the kernel hands each piece
 * of the summary to a callback, which gathers the pieces into lines and
 * writes every finished line to the instance log, so
 *
 *   agentctl logs -f summarizer
 *
 * shows the summary arriving. When the generation ends, the whole summary
 * is the reply:
 *
 *   agentctl send summarizer "$(head -20 README.md)" --wait
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

#define MAX_TOKENS 160 /* the longest summary, in tokens */
#define WRAP_AT    40  /* log a line at the first space after this many bytes */
#define LINE_CAP   160 /* bytes of a line at most (a very long word is cut) */

static const char instructions[] =
    "Summarize the user's text in 2-3 sentences. Keep names and numbers. "
    "Reply with the summary only.";

/* Per-instance state. */
typedef struct summarizer_state {
    const aos_kernel_api *api;
    aos_ctx *ctx; /* the callback gets only `user`: it finds ctx here */
    /* The summary's line being streamed: pieces gather here until a
     * newline, or a space past WRAP_AT, sends them to the log. */
    char line[LINE_CAP + 1];
    size_t line_len;
} summarizer_state;

/* Writes the gathered line, if any, to the log and starts a new one. */
static void flush_line(summarizer_state *st) {
    if (st->line_len == 0)
        return;
    st->line[st->line_len] = '\0';
    char text[LINE_CAP + 16];
    snprintf(text, sizeof text, "summary: %s", st->line);
    st->api->log(st->ctx, AOS_LOG_INFO, text); /* log copies it */
    st->line_len = 0;
}

/* The streaming callback (an aos_token_fn). infer_stream calls it on this
 * instance's thread, before it returns, once per piece: whole UTF-8
 * characters, not NUL-terminated, lent only for the call. Returning
 * anything but AOS_OK would cancel the generation. */
static aos_status on_piece(void *user, const char *piece, size_t len) {
    summarizer_state *st = user;

    for (size_t i = 0; i < len; i++) {
        char c = piece[i];
        bool starts_character = ((unsigned char)c & 0xC0) != 0x80;

        if (c == '\n') {
            flush_line(st);
        } else if (c == ' ' && st->line_len >= WRAP_AT) {
            flush_line(st); /* wrap at a word: the space is dropped */
        } else {
            /* Room for a whole character (4 bytes of UTF-8 at most) is kept,
             * so a cut never splits one. */
            if (st->line_len >= LINE_CAP - 4 && starts_character)
                flush_line(st);
            if (st->line_len < LINE_CAP)
                st->line[st->line_len++] = c;
        }
    }
    return AOS_OK;
}

/* True when the body holds nothing but whitespace. */
static bool blank(aos_bytes body) {
    for (size_t i = 0; i < body.len; i++) {
        uint8_t c = body.ptr[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

static const char *finish_name(uint32_t reason) {
    switch (reason) {
    case AOS_FINISH_STOP: return "stop";
    case AOS_FINISH_LENGTH: return "length";
    case AOS_FINISH_CANCELLED: return "cancelled";
    default: return "?";
    }
}

/* Replies "error: MESSAGE" to request `id`. */
static aos_status reply_error(aos_ctx *ctx, const aos_kernel_api *api, uint64_t id,
                              const char *message) {
    char text[128];
    int n = snprintf(text, sizeof text, "error: %s", message);
    return api->reply(ctx, id, (aos_bytes){(const uint8_t *)text, (size_t)n});
}

static aos_status summarize(aos_ctx *ctx, summarizer_state *st, const aos_message *msg) {
    const aos_kernel_api *api = st->api;

    /* The body is bytes without a NUL; a chat message is a C string. */
    char *text = malloc(msg->body.len + 1);
    if (text == NULL)
        return AOS_ENOMEM; /* the sender gets AOS_EHANDLER */
    memcpy(text, msg->body.ptr, msg->body.len);
    text[msg->body.len] = '\0';

    aos_chat_message chat[2] = {
        {.role = "system", .content = instructions},
        {.role = "user", .content = text},
    };
    /* Zero-initialised: temperature 0 (greedy, deterministic), the default
     * top_p, seed and priority, no stop strings, no grammar. */
    aos_infer_request request = {
        .struct_size = sizeof request,
        .n_messages = 2,
        .messages = chat,
        .max_tokens = MAX_TOKENS,
        .temperature = 0.0f,
    };
    aos_infer_result result = {.struct_size = sizeof result};

    st->line_len = 0;
    aos_status status = api->infer_stream(ctx, &request, on_piece, st, &result);
    flush_line(st); /* the last line has no newline after it */
    free(text);     /* the kernel copied the chat when the request was queued */

    char line[256];
    if (status != AOS_OK) { /* AOS_ETOOBIG, AOS_EFULL, AOS_EUNAVAIL, ...: result.text is {NULL, 0} */
        snprintf(line, sizeof line, "summarizer: message %" PRIu64 " failed: %s", msg->id,
                 aos_status_name(status));
        api->log(ctx, AOS_LOG_WARN, line);
        return reply_error(ctx, api, msg->id, aos_status_message(status));
    }

    /* result.text is the whole summary, the pieces put together: a buffer
     * the kernel allocated for us, to free with api->release. */
    snprintf(line, sizeof line,
             "summarizer: message %" PRIu64 " (request %" PRIu64 "): %zu bytes -> %zu bytes, %" PRIu32
             " prompt + %" PRIu32 " generated tokens, finish %s, %.2f s",
             msg->id, result.request_id, msg->body.len, result.text.len,
             result.usage.prompt_tokens, result.usage.completion_tokens,
             finish_name(result.finish_reason), (double)result.usage.total_ns / 1e9);
    api->log(ctx, AOS_LOG_INFO, line);

    if (result.text.len == 0)
        status = reply_error(ctx, api, msg->id, "the model wrote no summary");
    else
        status = api->reply(ctx, msg->id, (aos_bytes){result.text.ptr, result.text.len});
    api->release(ctx, &result.text); /* after reply: reply has copied it */
    return status;
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                      */
/* ------------------------------------------------------------------------ */

static aos_status summarizer_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                                  void **state) {
    (void)config; /* no configuration */

    /* Syscalls are only ever appended: check the one we call is there. */
    if (!AOS_API_HAS(api, infer_stream)) {
        api->log(ctx, AOS_LOG_ERROR,
                 "summarizer: this kernel has no inference syscalls (ABI 1.1)");
        return AOS_EABI;
    }
    summarizer_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return AOS_ENOMEM;
    st->api = api;
    st->ctx = ctx; /* valid until stop returns */
    *state = st;
    return AOS_OK;
}

static aos_status summarizer_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    summarizer_state *st = state;

    if ((msg->flags & AOS_MSG_REQUEST) == 0) {
        char line[256];
        snprintf(line, sizeof line,
                 "summarizer: ignored a plain message (%zu bytes) from %.63s; send the text "
                 "as a request (agentctl send --wait)",
                 msg->body.len, msg->from);
        st->api->log(ctx, AOS_LOG_INFO, line);
        return AOS_OK;
    }
    if (blank(msg->body)) /* don't spend the model on nothing */
        return reply_error(ctx, st->api, msg->id, "nothing to summarize");
    return summarize(ctx, st, msg);
}

static void summarizer_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    free(state);
}

/* "infer" asks the operator for the model; the kernel decides what is granted. */
static const char *const summarizer_capabilities[] = {"infer", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "summarizer",
    .version = "1.1.0",
    .description = "Summarizes the text it is sent, streaming the summary to its log.",
    .capabilities = summarizer_capabilities,
    .init = summarizer_init,
    .on_message = summarizer_on_message,
    .stop = summarizer_stop,
};
