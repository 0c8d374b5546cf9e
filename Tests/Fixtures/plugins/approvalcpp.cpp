/*
 * approvalcpp — approval.c's bank in C++, its table made with agentos.hpp's
 * aos::tool and aos::tool_descriptor: refund(amount) needs an operator's
 * approval (aos::tool_options needs_approval), balance() does not.
 */
#include "agentos.hpp"

static const char *refund(std::int32_t) { return "{\"refunded\": true}"; }
static std::int32_t balance() { return 100; }

static aos_status init(aos_ctx *, const aos_kernel_api *, const char *, void **) { return AOS_OK; }

static const aos_tool_param refund_params[] = {{"amount", AOS_TYPE_INT32, 1, "the amount in dollars"}};

static const aos_tool tools[] = {
    aos::tool("refund", "Refund an amount to the customer.", AOS_TOOL_FN(refund), AOS_TYPE_JSON, refund_params, 1,
              aos::tool_options{true, true}),
    aos::tool("balance", "The customer's balance in dollars.", AOS_TOOL_FN(balance), AOS_TYPE_INT32, nullptr, 0),
};

extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
const aos_plugin_descriptor aos_plugin =
    aos::tool_descriptor("bankcpp", "1.0.0", "Test fixture: agentos.hpp's tool table, one tool needing approval", tools, 2, init);
