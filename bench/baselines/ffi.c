/*
 * ffi.c — what libffi itself costs: the same call made directly and through
 * ffi_call, with the call interface prepared once (as the kernel does at load).
 *
 *   ffi [N]      default N 10000000
 *
 * The function is `double add(double, double)` (calculator.add's signature),
 * called through a volatile pointer so neither call is inlined. Prints one
 * line of JSON: {"bench":"ffi","n":..,"direct_ns":..,"ffi_ns":..}, both per call.
 */
#define _POSIX_C_SOURCE 200809L

#include <ffi.h>

#include "baseline.h"

#define USAGE "ffi [N]"

static double add(double a, double b) { return a + b; }

int main(int argc, char **argv) {
    uint64_t n = arg_u64(argc, argv, 1, 10000000u, 1, 1000000000u, USAGE);
    double (*volatile direct)(double, double) = add;

    ffi_cif cif;
    ffi_type *types[2] = {&ffi_type_double, &ffi_type_double};
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_double, types) != FFI_OK) {
        fprintf(stderr, "ffi: ffi_prep_cif failed\n");
        return 1;
    }

    double sum = 0;
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < n; i++)
        sum += direct((double)i, 0.5);
    uint64_t direct_ns = now_ns() - start;

    double a = 0, b = 0.5, result = 0;
    void *values[2] = {&a, &b};
    start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        a = (double)i;
        ffi_call(&cif, FFI_FN(direct), &result, values);
        sum -= result;
    }
    uint64_t ffi_ns = now_ns() - start;

    if (sum != 0) { /* both loops add the same values: keeps them from being optimised out */
        fprintf(stderr, "ffi: the two calls disagree (%g)\n", sum);
        return 1;
    }
    printf("{\"bench\":\"ffi\",\"n\":%" PRIu64 ",\"direct_ns\":%.2f,\"ffi_ns\":%.2f}\n", n,
           (double)direct_ns / (double)n, (double)ffi_ns / (double)n);
    return 0;
}
