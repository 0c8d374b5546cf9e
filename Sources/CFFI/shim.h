/* libffi (Debian: libffi-dev) for the Tools module. */
#ifndef AGENTOS_CFFI_SHIM_H
#define AGENTOS_CFFI_SHIM_H

#include <ffi.h>

/* libffi's type descriptors are mutable C globals; Swift 6 reaches them through these. */
static inline ffi_type *aos_ffi_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *aos_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *aos_ffi_uint32(void) { return &ffi_type_uint32; }
static inline ffi_type *aos_ffi_uint64(void) { return &ffi_type_uint64; }
static inline ffi_type *aos_ffi_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *aos_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *aos_ffi_float(void) { return &ffi_type_float; }
static inline ffi_type *aos_ffi_pointer(void) { return &ffi_type_pointer; }

#endif
