/*
 * crashtool — a tool plugin whose thread-safe tool `deref` dereferences
 * NULL. A thread-safe tool runs on its caller's thread (a borrowed one: an
 * agent's, or the control API's), so the kernel's crash line must name the
 * tool being called, not just the thread.
 */
#include <stddef.h>

#include "agentos.h"

static int32_t deref(int32_t offset) {
    volatile int32_t *nothing = NULL;
    return nothing[offset];
}

static const aos_tool_param deref_params[] = {
    {"offset", AOS_TYPE_INT32, 0, "added to NULL before reading"},
};

static const aos_tool crashtool_tools[] = {
    {.name = "deref", .description = "Reads through a NULL pointer.", .fn = AOS_TOOL_FN(deref),
     .returns = AOS_TYPE_INT32, .flags = AOS_TOOL_THREAD_SAFE, .n_params = 1, .params = deref_params},
};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "crashtool",
    .version = "0",
    .description = "Test fixture: a thread-safe tool that crashes with SIGSEGV.",
    .tools = crashtool_tools,
    .n_tools = 1,
};
