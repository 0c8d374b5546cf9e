/*
 * kvprobe — an agent that makes storage syscalls per request, for the
 * storage tests. Each request's body is a command, words split by one
 * space; NS "-" is NULL (the instance's own namespace); keys are hex, so a
 * test can send any bytes. The reply is the status name, then "|" and what
 * the syscall returned, or on an error "|" and last_error:
 *
 *   get NS KEY                  kv_get → "AOS_OK|VERSION|VALUE"
 *   put NS KEY EXPECTED VALUE   kv_put(VALUE: the rest of the body) → "AOS_OK|VERSION";
 *                               EXPECTED is "any" or a number
 *   putn NS KEY N               kv_put of N bytes of "x", unconditionally
 *   del NS KEY EXPECTED         kv_delete
 *   list NS PREFIX AFTER LIMIT  kv_list (PREFIX and AFTER "-": NULL) → "AOS_OK|JSON"
 *   batch NS N SIZE             N puts of keys "b0".."bN-1", each SIZE bytes of
 *                               its key's last digit; stops at the first error
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

/* Replies "STATUS|TEXT" (TEXT may be NULL: just the status). */
static aos_status answer(aos_ctx *ctx, const aos_kernel_api *api, const aos_message *msg,
                         aos_status status, const char *text, size_t len) {
    if (status != AOS_OK) {
        text = api->last_error(ctx);
        len = strlen(text);
    }
    size_t size = len + 64;
    char *reply = malloc(size);
    if (reply == NULL)
        return AOS_ENOMEM;
    int head = snprintf(reply, size, "%s", aos_status_name(status));
    if (text != NULL) {
        reply[head++] = '|';
        memcpy(reply + head, text, len);
        head += (int)len;
    }
    reply[head] = '\0';
    aos_status sent = fixture_reply(ctx, api, msg, reply);
    free(reply);
    return sent;
}

/* The next space-separated word of `*rest`, NUL-terminated in place. */
static char *word(char **rest) {
    char *start = *rest;
    if (start == NULL)
        return NULL;
    char *space = strchr(start, ' ');
    if (space != NULL) {
        *space = '\0';
        *rest = space + 1;
    } else {
        *rest = NULL;
    }
    return start;
}

/* Decodes hex `text` in place (a NUL-terminated key may hold any other byte). */
static char *unhex(char *text) {
    size_t len = strlen(text) / 2;
    for (size_t i = 0; i < len; i++) {
        unsigned byte = 0;
        sscanf(text + 2 * i, "%2x", &byte);
        text[i] = (char)byte;
    }
    text[len] = '\0';
    return text;
}

static const char *ns_of(const char *word) { return strcmp(word, "-") == 0 ? NULL : word; }

static uint64_t expected_of(const char *word) {
    return strcmp(word, "any") == 0 ? AOS_KV_ANY_VERSION : strtoull(word, NULL, 10);
}

static aos_status on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    char *body = malloc(msg->body.len + 1);
    if (body == NULL)
        return AOS_ENOMEM;
    memcpy(body, msg->body.ptr, msg->body.len);
    body[msg->body.len] = '\0';
    char *rest = body;
    const char *command = word(&rest);
    char out[64];
    aos_status status = AOS_EINVAL, sent;

    if (strcmp(command, "get") == 0) {
        const char *ns = ns_of(word(&rest));
        char *key = unhex(word(&rest));
        aos_buffer value = {0};
        uint64_t version = 0;
        status = api->kv_get(ctx, ns, key, &value, &version);
        size_t size = value.len + 32;
        char *text = malloc(size);
        int len = snprintf(text, size, "%llu|", (unsigned long long)version);
        if (value.ptr != NULL)
            memcpy(text + len, value.ptr, value.len);
        sent = answer(ctx, api, msg, status, text, (size_t)len + value.len);
        free(text);
        api->release(ctx, &value);
    } else if (strcmp(command, "put") == 0 || strcmp(command, "putn") == 0) {
        const char *ns = ns_of(word(&rest));
        char *key = unhex(word(&rest));
        uint64_t version = 0;
        if (strcmp(command, "put") == 0) {
            uint64_t expected = expected_of(word(&rest));
            const char *value = rest != NULL ? rest : "";
            aos_bytes bytes = {(const uint8_t *)value, strlen(value)};
            status = api->kv_put(ctx, ns, key, bytes, expected, &version);
        } else {
            size_t n = strtoull(word(&rest), NULL, 10);
            uint8_t *value = malloc(n + 1);
            memset(value, 'x', n);
            aos_bytes bytes = {value, n};
            status = api->kv_put(ctx, ns, key, bytes, AOS_KV_ANY_VERSION, &version);
            free(value);
        }
        int len = snprintf(out, sizeof out, "%llu", (unsigned long long)version);
        sent = answer(ctx, api, msg, status, out, (size_t)len);
    } else if (strcmp(command, "del") == 0) {
        const char *ns = ns_of(word(&rest));
        char *key = unhex(word(&rest));
        status = api->kv_delete(ctx, ns, key, expected_of(word(&rest)));
        sent = answer(ctx, api, msg, status, NULL, 0);
    } else if (strcmp(command, "list") == 0) {
        const char *ns = ns_of(word(&rest));
        const char *prefix = ns_of(word(&rest));
        const char *after = ns_of(word(&rest));
        uint32_t limit = (uint32_t)strtoul(word(&rest), NULL, 10);
        aos_buffer json = {0};
        status = api->kv_list(ctx, ns, prefix, after, limit, &json);
        sent = answer(ctx, api, msg, status, (const char *)json.ptr, json.len);
        api->release(ctx, &json);
    } else if (strcmp(command, "batch") == 0) {
        const char *ns = ns_of(word(&rest));
        unsigned long n = strtoul(word(&rest), NULL, 10);
        size_t size = strtoull(word(&rest), NULL, 10);
        uint8_t *value = malloc(size + 1);
        unsigned long done = 0;
        status = AOS_OK;
        for (; done < n && status == AOS_OK; done++) {
            char key[32];
            snprintf(key, sizeof key, "b%lu", done);
            memset(value, '0' + (int)(done % 10), size);
            aos_bytes bytes = {value, size};
            status = api->kv_put(ctx, ns, key, bytes, AOS_KV_ANY_VERSION, NULL);
        }
        free(value);
        int len = snprintf(out, sizeof out, "%lu", done);
        sent = answer(ctx, api, msg, status, out, (size_t)len);
    } else {
        sent = answer(ctx, api, msg, AOS_EINVAL, NULL, 0);
    }
    free(body);
    return sent;
}

static const char *const requested[] = {"kv", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "kvprobe",
    .version = "1.0.0",
    .description = "Test fixture: storage syscalls per request, for the storage tests",
    .capabilities = requested,
    .init = fixture_init,
    .on_message = on_message,
};
