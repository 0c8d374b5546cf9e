/*
 * strides — tool plugins laid out as other ABI minors lay them out, built
 * from one source with -DVARIANT_NAME:
 *
 *   VARIANT_abi13  an ABI 1.3 plugin: abi_minor 3 and a descriptor that ends
 *                  before tool_size, so the kernel must use ABI 1.2's strides
 *   VARIANT_wide   a plugin of a later ABI whose aos_tool and aos_tool_param
 *                  grew by a field each: tool_size and param_size say so, and
 *                  the kernel must step over the fields it does not know
 *
 * Both declare the same two tools, strides.add(a, b) and strides.neg(v),
 * so a wrong stride reads the second tool or parameter from the wrong place.
 */
#include <stddef.h>

#include "agentos.h"

static int32_t add(int32_t a, int32_t b) { return a + b; }
static int32_t neg(int32_t v) { return -v; }

#if defined(VARIANT_abi13)
#define NAME "strides13"
typedef aos_tool tool_element;
typedef aos_tool_param param_element;
#define TOOL(...) __VA_ARGS__
#define PARAM(...) __VA_ARGS__
#define STRUCT_SIZE offsetof(aos_plugin_descriptor, tool_size)
#define MINOR 3
/* Beyond struct_size: what a 1.3 plugin's next global might hold. Invalid as
 * sizes, so a kernel that read them would refuse the plugin. */
#define TOOL_SIZE 8
#define PARAM_SIZE 8
#elif defined(VARIANT_wide)
#define NAME "stridesw"
/* What a later header might declare: the 1.4 struct, then a new field. */
typedef struct {
    aos_tool tool;
    uint64_t added_later;
} tool_element;
typedef struct {
    aos_tool_param param;
    const char *added_later;
} param_element;
#define TOOL(...) {__VA_ARGS__, 0xFFFFFFFFFFFFFFFFu}
#define PARAM(...) {__VA_ARGS__, "not a parameter"}
#define STRUCT_SIZE sizeof(aos_plugin_descriptor)
#define MINOR AOS_ABI_MINOR
#define TOOL_SIZE sizeof(tool_element)
#define PARAM_SIZE sizeof(param_element)
#else
#error "build with -DVARIANT_abi13 or -DVARIANT_wide"
#endif

static const param_element add_params[] = {
    PARAM({"a", AOS_TYPE_INT32, 1, "the first addend"}),
    PARAM({"b", AOS_TYPE_INT32, 1, "the second addend"}),
};
static const param_element neg_params[] = {
    PARAM({"v", AOS_TYPE_INT32, 1, "the number"}),
};

static const tool_element tools[] = {
    TOOL({"add", "a + b", AOS_TOOL_FN(add), AOS_TYPE_INT32, AOS_TOOL_THREAD_SAFE, 2, 0,
          (const aos_tool_param *)add_params, NULL, NULL}),
    TOOL({"neg", "-v", AOS_TOOL_FN(neg), AOS_TYPE_INT32, AOS_TOOL_THREAD_SAFE, 1, 0,
          (const aos_tool_param *)neg_params, NULL, NULL}),
};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    .magic = AOS_PLUGIN_MAGIC,
    .abi_major = AOS_ABI_MAJOR,
    .abi_minor = MINOR,
    .struct_size = STRUCT_SIZE,
    .build_id = AOS_BUILD_ID,
    .kind = AOS_KIND_TOOL,
    .name = NAME,
    .version = "0",
    .description = "Test fixture: tool arrays with another ABI's element sizes.",
    .tools = (const aos_tool *)tools,
    .n_tools = 2,
    .tool_size = TOOL_SIZE,
    .param_size = PARAM_SIZE,
};
