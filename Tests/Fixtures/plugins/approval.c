/*
 * approval — a tool plugin whose one tool needs an operator's approval in a
 * tool loop (AOS_TOOL_NEEDS_APPROVAL, ABI 1.11): transfer(amount) "moves"
 * money (it only answers). The kernel counts its calls; the tests expect
 * none until `agentctl runs approve` and none after `agentctl runs reject`.
 */
#include "fixture.h"

static const char *transfer(int32_t amount) {
    (void)amount;
    return "{\"transferred\": true}";
}

static const aos_tool_param transfer_params[] = {
    {"amount", AOS_TYPE_INT32, 1, "the amount in dollars"},
};

static const aos_tool approval_tools[] = {
    {.name = "transfer",
     .description = "Transfer an amount of money to the customer.",
     .fn = AOS_TOOL_FN(transfer),
     .returns = AOS_TYPE_JSON,
     .flags = AOS_TOOL_THREAD_SAFE | AOS_TOOL_NEEDS_APPROVAL,
     .n_params = 1,
     .params = transfer_params},
};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "bank",
    .version = "1.0.0",
    .description = "Test fixture: a tool that needs an operator's approval",
    .init = fixture_init,
    .tools = approval_tools,
    .n_tools = 1,
};
