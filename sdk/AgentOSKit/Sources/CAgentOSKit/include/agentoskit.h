/*
 * agentoskit.h — what AgentOSKit's Swift code needs from C: the ABI
 * (agentos.h), the plugin's descriptor, and libffi for tool functions.
 */
#ifndef AGENTOSKIT_H
#define AGENTOSKIT_H

#include <ffi.h>

#include "agentos.h"

/**
 * The plugin's one exported symbol, `aos_plugin`. It is zero until the
 * library's load-time entry (entry.c) has run the plugin's `@main` type,
 * whose `main()` fills it: before dlopen returns, so before the kernel reads it.
 */
aos_plugin_descriptor *aoskit_descriptor(void);

/** aos_plugin_descriptor.runtime of a Swift plugin: "swift; clang " and the version of the clang
 *  in the toolchain that compiled it (which names the Swift release). A static string. */
static inline const char *aoskit_runtime(void) { return "swift; clang " __clang_version__; }

/* libffi's type descriptors are mutable C globals; Swift 6 reaches them through these. */
static inline ffi_type *aoskit_ffi_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *aoskit_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *aoskit_ffi_uint32(void) { return &ffi_type_uint32; }
static inline ffi_type *aoskit_ffi_uint64(void) { return &ffi_type_uint64; }
static inline ffi_type *aoskit_ffi_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *aoskit_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *aoskit_ffi_float(void) { return &ffi_type_float; }
static inline ffi_type *aoskit_ffi_pointer(void) { return &ffi_type_pointer; }

#endif
