/*
 * badtools.c — tool plugins whose tool table the kernel must refuse.
 *
 * Built once per variant with -DVARIANT_<name> into badtool_<name>.so; each
 * has a valid tool "ok" first, then breaks one rule in a second tool (or,
 * for duplicate_name, in the pair), so the refusal names exactly that rule:
 *
 *   unsupported_type  a parameter of type 42
 *   duplicate_name    two tools named "same"
 *   missing_fn        a tool whose fn is NULL
 *   bad_tool_name     a tool named "has space"
 *   bad_param_name    a parameter named "1x"
 *   string_param_json_return_with_schema_and_params
 *                     a tool with both params and json_schema
 *   too_many_params   a tool with 17 parameters (16 at most)
 *   json_as_param     a parameter of type AOS_TYPE_JSON (a result type only)
 *
 * Everything else is valid, and every function works, so a kernel that
 * wrongly accepts one shows it by running it rather than by crashing.
 */
#include "agentos.h"

static int32_t ok(void) { return 1; }

#define OK_TOOL \
    {.name = "ok", .description = "Returns 1.", .fn = AOS_TOOL_FN(ok), .returns = AOS_TYPE_INT32}

/* The broken tool of this variant. */
#if defined(VARIANT_unsupported_type)
#define NAME "unsupported_type"
static int32_t echo(int32_t v) { return v; }
static const aos_tool_param params[] = {{"v", 42, 1, NULL}};
#define BAD_TOOLS {.name = "bad", .description = "A parameter of type 42.", .fn = AOS_TOOL_FN(echo), \
                   .returns = AOS_TYPE_INT32, .n_params = 1, .params = params}
#elif defined(VARIANT_duplicate_name)
#define NAME "duplicate_name"
#define BAD_TOOLS \
    {.name = "same", .description = "The first.", .fn = AOS_TOOL_FN(ok), .returns = AOS_TYPE_INT32}, \
    {.name = "same", .description = "The second.", .fn = AOS_TOOL_FN(ok), .returns = AOS_TYPE_INT32}
#elif defined(VARIANT_missing_fn)
#define NAME "missing_fn"
#define BAD_TOOLS {.name = "bad", .description = "No function.", .fn = NULL, .returns = AOS_TYPE_INT32}
#elif defined(VARIANT_bad_tool_name)
#define NAME "bad_tool_name"
#define BAD_TOOLS {.name = "has space", .description = "A bad name.", .fn = AOS_TOOL_FN(ok), \
                   .returns = AOS_TYPE_INT32}
#elif defined(VARIANT_bad_param_name)
#define NAME "bad_param_name"
static int32_t echo(int32_t v) { return v; }
static const aos_tool_param params[] = {{"1x", AOS_TYPE_INT32, 1, NULL}};
#define BAD_TOOLS {.name = "bad", .description = "A bad parameter name.", .fn = AOS_TOOL_FN(echo), \
                   .returns = AOS_TYPE_INT32, .n_params = 1, .params = params}
#elif defined(VARIANT_string_param_json_return_with_schema_and_params)
#define NAME "string_param_json_return_with_schema_and_params"
static char *text(const char *s) { return (char *)s; } /* lent back; free_result NULL */
static const aos_tool_param params[] = {{"s", AOS_TYPE_STRING, 1, NULL}};
#define BAD_TOOLS {.name = "bad", .description = "Both params and json_schema.", \
                   .fn = AOS_TOOL_FN(text), .returns = AOS_TYPE_JSON, .n_params = 1, \
                   .params = params, .json_schema = "{\"type\":\"object\"}"}
#elif defined(VARIANT_too_many_params)
#define NAME "too_many_params"
static int32_t sum17(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f, int32_t g,
                     int32_t h, int32_t i, int32_t j, int32_t k, int32_t l, int32_t m, int32_t n,
                     int32_t o, int32_t p, int32_t q) {
    return a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q;
}
static const aos_tool_param params[] = {
    {"a", AOS_TYPE_INT32, 1, NULL}, {"b", AOS_TYPE_INT32, 1, NULL}, {"c", AOS_TYPE_INT32, 1, NULL},
    {"d", AOS_TYPE_INT32, 1, NULL}, {"e", AOS_TYPE_INT32, 1, NULL}, {"f", AOS_TYPE_INT32, 1, NULL},
    {"g", AOS_TYPE_INT32, 1, NULL}, {"h", AOS_TYPE_INT32, 1, NULL}, {"i", AOS_TYPE_INT32, 1, NULL},
    {"j", AOS_TYPE_INT32, 1, NULL}, {"k", AOS_TYPE_INT32, 1, NULL}, {"l", AOS_TYPE_INT32, 1, NULL},
    {"m", AOS_TYPE_INT32, 1, NULL}, {"n", AOS_TYPE_INT32, 1, NULL}, {"o", AOS_TYPE_INT32, 1, NULL},
    {"p", AOS_TYPE_INT32, 1, NULL}, {"q", AOS_TYPE_INT32, 1, NULL},
};
#define BAD_TOOLS {.name = "bad", .description = "17 parameters.", .fn = AOS_TOOL_FN(sum17), \
                   .returns = AOS_TYPE_INT32, .n_params = 17, .params = params}
#elif defined(VARIANT_json_as_param)
#define NAME "json_as_param"
static char *text(const char *s) { return (char *)s; } /* lent back; free_result NULL */
static const aos_tool_param params[] = {{"j", AOS_TYPE_JSON, 1, NULL}};
#define BAD_TOOLS {.name = "bad", .description = "A JSON parameter.", .fn = AOS_TOOL_FN(text), \
                   .returns = AOS_TYPE_JSON, .n_params = 1, .params = params}
#else
#error "build with -DVARIANT_<name>, one of the variants listed above"
#endif

static const aos_tool tools[] = {OK_TOOL, BAD_TOOLS};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "badtool_" NAME,
    .version = "0",
    .description = "Test fixture: a tool table the kernel must refuse (" NAME ").",
    .capabilities = NULL,
    .tools = tools,
    .n_tools = sizeof tools / sizeof tools[0],
};
