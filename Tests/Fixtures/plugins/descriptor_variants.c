/*
 * descriptor_variants.c — plugins whose descriptor the kernel must refuse.
 *
 * Built once per variant with -DVARIANT_<name>; each breaks one handshake
 * field and keeps the rest valid, so the refusal names exactly that field:
 *
 *   badmagic     magic 0xDEADBEEF
 *   abinew       abi_major AOS_ABI_MAJOR + 1
 *   abiold       abi_major 0
 *   smallstruct  struct_size 16
 *   hugestruct   struct_size 0x7fffffff, far past any descriptor
 *   wrongbuild   build_id of a 32-bit little-endian build
 *   badkind      kind 7, neither an agent nor a tool
 *   notools      kind AOS_KIND_TOOL with no tools
 *   badname      name "bad name!", not a valid instance name
 *
 * The entry points work, so a kernel that wrongly accepts one shows it by
 * running it rather than by crashing.
 */
#include "agentos.h"

/* The broken field of this variant... */
#if defined(VARIANT_badmagic)
#define NAME  "badmagic"
#define MAGIC 0xDEADBEEFu
#elif defined(VARIANT_abinew)
#define NAME      "abinew"
#define ABI_MAJOR (AOS_ABI_MAJOR + 1)
#elif defined(VARIANT_abiold)
#define NAME      "abiold"
#define ABI_MAJOR 0
#elif defined(VARIANT_smallstruct)
#define NAME        "smallstruct"
#define STRUCT_SIZE 16
#elif defined(VARIANT_hugestruct)
#define NAME        "hugestruct"
#define STRUCT_SIZE 0x7fffffffu
#elif defined(VARIANT_wrongbuild)
#define NAME     "wrongbuild"
#define BUILD_ID (32u | (1u << 8))
#elif defined(VARIANT_badkind)
#define NAME "badkind"
#define KIND 7u /* neither an agent nor a tool */
#elif defined(VARIANT_notools)
#define NAME "notools"
#define KIND AOS_KIND_TOOL /* and tools NULL, n_tools 0 */
#elif defined(VARIANT_badname)
#define NAME            "badname"
#define DESCRIPTOR_NAME "bad name!"
#else
#error "build with -DVARIANT_<name>, one of the variants listed above"
#endif

/* ...and valid values for the others. */
#ifndef MAGIC
#define MAGIC AOS_PLUGIN_MAGIC
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR AOS_ABI_MAJOR
#endif
#ifndef STRUCT_SIZE
#define STRUCT_SIZE sizeof(aos_plugin_descriptor)
#endif
#ifndef BUILD_ID
#define BUILD_ID AOS_BUILD_ID
#endif
#ifndef KIND
#define KIND AOS_KIND_AGENT
#endif
#ifndef DESCRIPTOR_NAME
#define DESCRIPTOR_NAME NAME
#endif

static aos_status variant_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                               void **state) {
    (void)config;
    *state = NULL;
    api->log(ctx, AOS_LOG_ERROR, NAME ": loaded although its descriptor is invalid");
    return AOS_OK;
}

static aos_status variant_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    return AOS_OK;
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    .magic = MAGIC,
    .abi_major = ABI_MAJOR,
    .abi_minor = AOS_ABI_MINOR,
    .struct_size = STRUCT_SIZE,
    .build_id = BUILD_ID,
    .kind = KIND,
    .name = DESCRIPTOR_NAME,
    .version = "0",
    .description = "Test fixture: a descriptor the kernel must refuse (" NAME ").",
    .capabilities = NULL,
    .init = variant_init,
    .on_message = variant_on_message,
    .stop = NULL,
};
