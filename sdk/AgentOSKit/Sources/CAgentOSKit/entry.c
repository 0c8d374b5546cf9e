/*
 * entry.c — the load-time entry of a Swift plugin.
 *
 * The kernel reads `aos_plugin` right after dlopen. A Swift plugin marks its
 * Agent or ToolPlugin type with `@main`, which makes Swift emit a `main`
 * function in the library; the constructor below calls it while the library
 * loads, and the protocol's `main()` fills the descriptor. `main` is
 * referenced with hidden visibility, so it binds to the library's own (never
 * the kernel's) and a plugin without `@main` fails to link.
 *
 * The constructor also pins the library (RTLD_NODELETE): the Swift runtime
 * keeps pointers into every image's metadata for the life of the process, so
 * the kernel's dlclose must not unmap a Swift plugin.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>

#include "agentoskit.h"

AOS_PLUGIN_EXPORT aos_plugin_descriptor aos_plugin;

aos_plugin_descriptor *aoskit_descriptor(void) { return &aos_plugin; }

extern int main(int argc, char **argv) __attribute__((visibility("hidden")));

/* dl_iterate_phdr visits the main program first: is `aos_plugin` in it? */
static int aoskit_in_program(struct dl_phdr_info *info, size_t size, void *found) {
    (void)size;
    uintptr_t address = (uintptr_t)&aos_plugin;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        if (segment->p_type == PT_LOAD && address >= start && address < start + segment->p_memsz)
            *(int *)found = 1;
    }
    return 1; /* the first object only */
}

__attribute__((constructor)) static void aoskit_entry(void) {
    int in_program = 0;
    dl_iterate_phdr(aoskit_in_program, &in_program);
    if (in_program)
        return; /* linked into an executable (a test runner): not a plugin, its main is not ours */
    Dl_info self;
    if (dladdr((void *)&aos_plugin, &self) != 0 && self.dli_fname != NULL)
        (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    main(0, NULL);
}
