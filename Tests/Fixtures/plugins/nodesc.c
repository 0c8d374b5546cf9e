/*
 * nodesc.c — a valid shared library with no `aos_plugin` symbol.
 *
 * It exports a function, so dlopen succeeds and only the descriptor lookup
 * fails: the kernel must refuse it by name, not crash.
 */
#include "agentos.h"

AOS_PLUGIN_EXPORT int nodesc_answer(void);

int nodesc_answer(void) {
    return 42;
}
