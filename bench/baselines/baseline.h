/*
 * baseline.h — what the baseline programs share: a clock and argument parsing.
 */
#ifndef BASELINE_H
#define BASELINE_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* argv[index] as an integer in [min, max], or `fallback` when absent.
 * Exits with status 2 and `usage` on stderr when it is not one. */
static inline uint64_t arg_u64(int argc, char **argv, int index, uint64_t fallback,
                               uint64_t min, uint64_t max, const char *usage) {
    if (index >= argc)
        return fallback;

    const char *text = argv[index];
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || value < min || value > max) {
        fprintf(stderr, "%s: bad argument \"%s\" (want %" PRIu64 "..%" PRIu64 ")\nusage: %s\n",
                argv[0], text, min, max, usage);
        exit(2);
    }
    return (uint64_t)value;
}

#endif /* BASELINE_H */
