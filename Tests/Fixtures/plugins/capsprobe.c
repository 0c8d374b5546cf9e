/*
 * capsprobe — an agent that makes one syscall per request, for the
 * capability tests. Each request's body is a command; the reply is the
 * status name, then "|" and what the syscall returned, if anything:
 *
 *   send AGENT              send(AGENT, "ping")
 *   sendn AGENT N           send(AGENT, N bytes of "x"), N at most 65536
 *   call AGENT BODY         call(AGENT, BODY) → "AOS_OK|REPLY"
 *   infer                   infer (one user turn, max_tokens 1)
 *   stream                  infer_stream
 *   submit                  infer_submit
 *   toolloop PATTERN        infer with tools PATTERN
 *   tool TOOL ARGS          tool_call(TOOL, ARGS) → "AOS_OK|RESULT"
 *   list PATTERN            tools_list(PATTERN) → "AOS_OK|JSON"
 *   delegate AGENT CAPS CMD call_delegate(AGENT, CMD) lending CAPS (comma-separated,
 *                           "-" for none) → "STATUS|REPLY"
 *   load PATH NAME          plugin_load(PATH, NAME, NULL)
 *   unload NAME             plugin_unload(NAME)
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

/* Replies "STATUS" or "STATUS|BUFFER" and releases the buffer. */
static aos_status answer(aos_ctx *ctx, const aos_kernel_api *api, const aos_message *msg,
                         aos_status status, aos_buffer *buffer) {
    size_t size = (buffer != NULL ? buffer->len : 0) + 64;
    char *reply = malloc(size);
    if (reply == NULL)
        return AOS_ENOMEM;
    int head = snprintf(reply, size, "%s", aos_status_name(status));
    if (buffer != NULL && buffer->ptr != NULL) {
        reply[head++] = '|';
        memcpy(reply + head, buffer->ptr, buffer->len);
        head += (int)buffer->len;
        api->release(ctx, buffer);
    }
    reply[head] = '\0';
    aos_status sent = fixture_reply(ctx, api, msg, reply);
    free(reply);
    return sent;
}

static aos_infer_request request_for(aos_chat_message *chat) {
    aos_infer_request request = {
        .struct_size = sizeof request, .n_messages = 1, .messages = chat, .max_tokens = 1,
    };
    return request;
}

static aos_status ignore_token(void *user, const char *piece, size_t len) {
    (void)user, (void)piece, (void)len;
    return AOS_OK;
}

/* call_delegate lending the comma-separated `caps`. */
static aos_status delegate(aos_ctx *ctx, const aos_kernel_api *api, const char *to, char *caps,
                           const char *command, aos_buffer *reply) {
    const char *list[16];
    size_t n = 0;
    if (strcmp(caps, "-") != 0) {
        char *rest = NULL;
        for (char *cap = strtok_r(caps, ",", &rest); cap != NULL && n < 16; cap = strtok_r(NULL, ",", &rest))
            list[n++] = cap;
    }
    aos_bytes body = {(const uint8_t *)command, strlen(command)};
    return api->call_delegate(ctx, to, body, list, n, 5000, reply);
}

static aos_status on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK; /* results of infer_submit, plain messages */
    char *text = malloc(msg->body.len + 1);
    if (text == NULL)
        return AOS_ENOMEM;
    memcpy(text, msg->body.ptr, msg->body.len);
    text[msg->body.len] = '\0';

    aos_chat_message chat[1] = {{.role = "user", .content = "hi"}};
    aos_infer_request request = request_for(chat);
    aos_infer_result result = {.struct_size = sizeof result};
    aos_buffer buffer = {NULL, 0};
    char name[128] = "", caps[512] = "";
    int used = 0;
    aos_status status;

    unsigned size = 0;
    if (sscanf(text, "sendn %127s %u", name, &size) == 2 && size <= 65536) {
        uint8_t *bytes = malloc(size + 1);
        if (bytes == NULL) {
            free(text);
            return AOS_ENOMEM;
        }
        memset(bytes, 'x', size);
        aos_status sent = api->send(ctx, name, (aos_bytes){bytes, size}, 0);
        free(bytes);
        status = answer(ctx, api, msg, sent, NULL);
    } else if (sscanf(text, "send %127s", name) == 1) {
        aos_bytes body = {(const uint8_t *)"ping", 4};
        status = answer(ctx, api, msg, api->send(ctx, name, body, 0), NULL);
    } else if (sscanf(text, "call %127s %n", name, &used) == 1 && used > 0) {
        aos_bytes body = {(const uint8_t *)text + used, strlen(text + used)};
        status = answer(ctx, api, msg, api->call(ctx, name, body, 5000, &buffer), &buffer);
    } else if (strcmp(text, "infer") == 0) {
        aos_status called = api->infer(ctx, &request, &result);
        api->release(ctx, &result.text);
        status = answer(ctx, api, msg, called, NULL);
    } else if (strcmp(text, "stream") == 0) {
        aos_status called = api->infer_stream(ctx, &request, ignore_token, NULL, &result);
        api->release(ctx, &result.text);
        status = answer(ctx, api, msg, called, NULL);
    } else if (strcmp(text, "submit") == 0) {
        uint64_t id = 0;
        status = answer(ctx, api, msg, api->infer_submit(ctx, &request, &id), NULL);
    } else if (sscanf(text, "toolloop %127s", name) == 1) {
        const char *const tools[] = {name};
        request.tools = tools;
        request.n_tools = 1;
        aos_status called = api->infer(ctx, &request, &result);
        api->release(ctx, &result.text);
        api->release(ctx, &result.trace);
        status = answer(ctx, api, msg, called, NULL);
    } else if (sscanf(text, "tool %127s %n", name, &used) == 1 && used > 0) {
        status = answer(ctx, api, msg, api->tool_call(ctx, name, text + used, 5000, &buffer), &buffer);
    } else if (sscanf(text, "list %127s", name) == 1) {
        status = answer(ctx, api, msg, api->tools_list(ctx, name, &buffer), &buffer);
    } else if (sscanf(text, "load %511s %127s", caps, name) == 2) {
        status = answer(ctx, api, msg, api->plugin_load(ctx, caps, name, NULL), NULL);
    } else if (sscanf(text, "unload %127s", name) == 1) {
        status = answer(ctx, api, msg, api->plugin_unload(ctx, name), NULL);
    } else if (sscanf(text, "delegate %127s %511s %n", name, caps, &used) == 2 && used > 0) {
        status = answer(ctx, api, msg, delegate(ctx, api, name, caps, text + used, &buffer), &buffer);
    } else {
        status = fixture_reply(ctx, api, msg, "unknown command");
    }
    free(text);
    return status;
}

static const char *const requested[] = {"infer", "send:*", "tool:*", "admin", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "capsprobe",
    .version = "1.0.0",
    .description = "Test fixture: one syscall per request, for the capability tests",
    .capabilities = requested,
    .init = fixture_init,
    .on_message = on_message,
};
