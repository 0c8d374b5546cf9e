/*
 * calculator.c — arithmetic tools, for models that are bad at sums.
 *
 * A tool plugin (kind AOS_KIND_TOOL) handles no messages: it exports plain
 * C functions, listed with their signatures in the descriptor's `tools`.
 * The kernel checks a call's JSON arguments against the signature, calls
 * the function with libffi and turns what it returns into JSON, so the
 * functions below are ordinary C with no glue. Callers name them
 * "calculator.add", "calculator.multiply", "calculator.divide" and
 * "calculator.sqrt":
 *
 *   agentctl load build/plugins/calculator.so
 *   agentctl tools 'calculator.*'
 *   agentctl call calculator.divide '{"a": 1, "b": 0}'    # fails: division by zero
 *   agentctl infer --tools 'calculator.*' "What is 12.5 times 4?"
 *
 * The functions are pure, so every tool is AOS_TOOL_THREAD_SAFE: it runs on
 * the caller's thread, several at once, without queueing on this plugin's.
 * A call that has no answer (a division by zero, the square root of a
 * negative number, a result too large for a double) fails through
 * api->tool_error: the caller gets AOS_ETOOL and the message.
 */
#include <math.h>

#include "agentos.h"

/* The syscall table, for tool_error. init sets it before any tool can run;
 * the tools only read it. */
static const aos_kernel_api *api;

/* Fails the call with "the result is too large" when `result` is not
 * finite (JSON has no infinity); returns `result` either way, as the
 * kernel ignores what a failed call returns. */
static double finite_or_fail(double result) {
    if (!isfinite(result))
        api->tool_error(NULL, "the result is too large");
    return result;
}

static double add(double a, double b) { return finite_or_fail(a + b); }

static double multiply(double a, double b) { return finite_or_fail(a * b); }

static double divide(double a, double b) {
    if (b == 0) {
        /* NULL ctx: the kernel knows which call runs on this thread. */
        api->tool_error(NULL, "division by zero");
        return 0;
    }
    return finite_or_fail(a / b);
}

static double square_root(double x) {
    if (x < 0) {
        api->tool_error(NULL, "square root of a negative number");
        return 0;
    }
    return sqrt(x);
}

/* The parameters, in each function's argument order. All are required:
 * the kernel refuses a call that leaves one out. */
static const aos_tool_param two_numbers[] = {
    {"a", AOS_TYPE_DOUBLE, 1, "the first number"},
    {"b", AOS_TYPE_DOUBLE, 1, "the second number"},
};
static const aos_tool_param divide_params[] = {
    {"a", AOS_TYPE_DOUBLE, 1, "the number to divide"},
    {"b", AOS_TYPE_DOUBLE, 1, "the number to divide by"},
};
static const aos_tool_param sqrt_params[] = {
    {"x", AOS_TYPE_DOUBLE, 1, "a number, 0 or more"},
};

static const aos_tool calculator_tools[] = {
    {.name = "add",
     .description = "Add two numbers: a + b.",
     .fn = AOS_TOOL_FN(add),
     .returns = AOS_TYPE_DOUBLE,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 2,
     .params = two_numbers},
    {.name = "multiply",
     .description = "Multiply two numbers: a * b (a times b).",
     .fn = AOS_TOOL_FN(multiply),
     .returns = AOS_TYPE_DOUBLE,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 2,
     .params = two_numbers},
    {.name = "divide",
     .description = "Divide a by b: a / b.",
     .fn = AOS_TOOL_FN(divide),
     .returns = AOS_TYPE_DOUBLE,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 2,
     .params = divide_params},
    {.name = "sqrt",
     .description = "The square root of x.",
     .fn = AOS_TOOL_FN(square_root),
     .returns = AOS_TYPE_DOUBLE,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 1,
     .params = sqrt_params},
};

/* init only keeps the table. A kernel that runs tool plugins has ABI 1.2,
 * so it has tool_error: there is nothing to check with AOS_API_HAS. */
static aos_status calculator_init(aos_ctx *ctx, const aos_kernel_api *kernel_api,
                                  const char *config, void **state) {
    (void)ctx;
    (void)config;
    api = kernel_api;
    *state = NULL;
    return AOS_OK;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "calculator",
    .version = "1.0.0",
    .description = "Tools: add, multiply, divide and square root of numbers.",
    .capabilities = NULL,
    .init = calculator_init,
    .on_message = NULL, /* optional for a tool plugin */
    .stop = NULL,       /* nothing to free */
    .tools = calculator_tools,
    .n_tools = sizeof calculator_tools / sizeof calculator_tools[0],
};
