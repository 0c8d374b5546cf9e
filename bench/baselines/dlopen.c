/*
 * dlopen.c — baseline for loading a plugin: dlopen, find the descriptor,
 * dlclose.
 *
 *   dlopen PATH [N]          default N: 200
 *
 * Opens PATH with RTLD_NOW | RTLD_LOCAL (as a kernel loads a plugin), looks
 * up "aos_plugin" and closes it again, N times after one untimed warm-up
 * round that also checks PATH. Prints one line of JSON:
 * {"bench":"dlopen","n":..,"mean_ns":..}.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>

#include "baseline.h"

#define USAGE "dlopen PATH [N]"

/* One load-lookup-unload round; exits with the loader's message on failure. */
static void load_once(const char *path) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        exit(1);
    }
    if (dlsym(library, "aos_plugin") == NULL) {
        fprintf(stderr, "dlopen: %s has no aos_plugin symbol\n", path);
        exit(1);
    }
    dlclose(library);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    const char *path = argv[1];
    uint64_t n = arg_u64(argc, argv, 2, 200, 1, UINT32_MAX, USAGE);

    load_once(path);
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < n; i++)
        load_once(path);
    uint64_t total = now_ns() - start;

    printf("{\"bench\":\"dlopen\",\"n\":%" PRIu64 ",\"mean_ns\":%" PRIu64 "}\n", n, total / n);
    return 0;
}
