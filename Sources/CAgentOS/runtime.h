/* The Swift runtime the kernel runs on, as aos_plugin_descriptor.runtime
 * names it (ABI 1.6): "swift; clang " and the version of the toolchain's clang. Its
 * twin is aoskit_runtime() in sdk/AgentOSKit (AgentOSKit); both are expanded by
 * the toolchain that compiles them, so they are equal exactly when a plugin
 * and the kernel were built by the same one. */
#ifndef AGENTOS_RUNTIME_H
#define AGENTOS_RUNTIME_H

static inline const char *aos_kernel_runtime(void) { return "swift; clang " __clang_version__; }

#endif
