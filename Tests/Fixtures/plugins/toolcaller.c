/*
 * toolcaller — an agent that exercises the tool syscalls for the integration
 * tests. Each request's body is a command; the reply is its outcome:
 *
 *   call TOOL ARGS       tool_call(TOOL, ARGS) → "ok|RESULT" or "err|STATUS|TEXT"
 *   callnoargs TOOL      tool_call with args_json NULL
 *   callbadutf8 TOOL     tool_call with arguments that are not UTF-8
 *   callnulltool         tool_call with tool NULL
 *   wait MS TOOL ARGS    tool_call with a timeout of MS milliseconds
 *   list PATTERN         tools_list(PATTERN) → "ok|JSON" ("*" lists all, "-" passes NULL)
 *   ask QUESTION         infer with tools calculator.* (first turn must call) →
 *                        "ok|FINISH|TEXT|TRACE" or "err|STATUS"
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

static char *text_of(const aos_message *msg) {
    char *text = malloc(msg->body.len + 1);
    if (text == NULL)
        return NULL;
    memcpy(text, msg->body.ptr, msg->body.len);
    text[msg->body.len] = '\0';
    return text;
}

/* Replies "ok|BUFFER" or "err|STATUS|BUFFER" and releases the buffer. */
static aos_status answer(aos_ctx *ctx, const aos_kernel_api *api, const aos_message *msg,
                         aos_status status, aos_buffer *buffer) {
    size_t size = buffer->len + 64;
    char *reply = malloc(size);
    if (reply == NULL)
        return AOS_ENOMEM;
    int head = status == AOS_OK ? snprintf(reply, size, "ok|")
                                : snprintf(reply, size, "err|%s|", aos_status_name(status));
    if (buffer->ptr != NULL)
        memcpy(reply + head, buffer->ptr, buffer->len);
    reply[head + buffer->len] = '\0';
    api->release(ctx, buffer);
    aos_status sent = fixture_reply(ctx, api, msg, reply);
    free(reply);
    return sent;
}

static aos_status ask(aos_ctx *ctx, const aos_kernel_api *api, const aos_message *msg, const char *question) {
    static const char *const tools[] = {"calculator.*"};
    aos_chat_message chat[1] = {{.role = "user", .content = question}};
    aos_infer_request request = {
        .struct_size = sizeof request, .n_messages = 1, .messages = chat, .max_tokens = 64,
        .tools = tools, .n_tools = 1, .tool_choice = AOS_TOOL_CHOICE_REQUIRED, .max_steps = 4,
    };
    aos_infer_result result = {.struct_size = sizeof result};
    aos_status status = api->infer(ctx, &request, &result);
    if (status != AOS_OK) {
        char reply[64];
        snprintf(reply, sizeof reply, "err|%s", aos_status_name(status));
        return fixture_reply(ctx, api, msg, reply);
    }
    size_t size = result.text.len + result.trace.len + 64;
    char *reply = malloc(size);
    if (reply == NULL)
        return AOS_ENOMEM;
    snprintf(reply, size, "ok|%u|%.*s|%.*s", result.finish_reason, (int)result.text.len,
             (const char *)result.text.ptr, (int)result.trace.len, (const char *)result.trace.ptr);
    api->release(ctx, &result.text);
    api->release(ctx, &result.trace);
    aos_status sent = fixture_reply(ctx, api, msg, reply);
    free(reply);
    return sent;
}

static aos_status on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    const aos_kernel_api *api = fixture_api(state);
    char *text = text_of(msg);
    if (text == NULL)
        return AOS_ENOMEM;
    aos_buffer buffer = {NULL, 0};
    aos_status status = AOS_OK;
    char tool[128] = "";
    unsigned timeout = 0;
    int used = 0;

    /* The longer command names first: a space in a scanf format also matches no space. */
    if (sscanf(text, "callnoargs %127s", tool) == 1) {
        status = answer(ctx, api, msg, api->tool_call(ctx, tool, NULL, 5000, &buffer), &buffer);
    } else if (sscanf(text, "callbadutf8 %127s", tool) == 1) {
        status = answer(ctx, api, msg, api->tool_call(ctx, tool, "{\"s\": \"\xff\xfe\"}", 5000, &buffer), &buffer);
    } else if (strcmp(text, "callnulltool") == 0) {
        status = answer(ctx, api, msg, api->tool_call(ctx, NULL, "{}", 5000, &buffer), &buffer);
    } else if (sscanf(text, "call %127s %n", tool, &used) == 1 && used > 0) {
        status = answer(ctx, api, msg, api->tool_call(ctx, tool, text + used, 5000, &buffer), &buffer);
    } else if (sscanf(text, "wait %u %127s %n", &timeout, tool, &used) == 2 && used > 0) {
        status = answer(ctx, api, msg, api->tool_call(ctx, tool, text + used, timeout, &buffer), &buffer);
    } else if (strncmp(text, "list ", 5) == 0) {
        const char *pattern = strcmp(text + 5, "-") == 0 ? NULL : text + 5;
        status = answer(ctx, api, msg, api->tools_list(ctx, pattern, &buffer), &buffer);
    } else if (strncmp(text, "ask ", 4) == 0) {
        status = ask(ctx, api, msg, text + 4);
    } else {
        status = fixture_reply(ctx, api, msg, "err|unknown command");
    }
    free(text);
    return status;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "toolcaller",
    .version = "1.0.0",
    .description = "Test fixture: calls tools through the tool syscalls",
    .init = fixture_init,
    .on_message = on_message,
};
