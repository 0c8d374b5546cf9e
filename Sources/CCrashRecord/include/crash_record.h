/*
 * crash_record.h — the kernel's crash record: what a thread-mode crash leaves
 * in $AGENTOS_HOME/crash/ for the next start (see FatalSignals.swift, which
 * calls aos_crash_write from its fatal-signal handler).
 *
 * Everything the handler needs is prepared before any fault: the folder
 * (aos_crash_configure), which instance each thread runs (aos_crash_thread_begin
 * on an instance's thread, a thread-local copy of its name), and which mapped
 * libraries are plugins with their source file and SHA-256
 * (aos_crash_register_library, a fixed table). The handler only reads them.
 *
 * The record is text, one "key value" pair a line, values escaped (\xHH for
 * bytes below 0x20, 0x7f and '\'), first line "agentos-crash 1", last line
 * "end" (a record without it was cut short). KernelCore's CrashRecord parses it.
 */
#ifndef AGENTOS_CRASH_RECORD_H
#define AGENTOS_CRASH_RECORD_H

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of an instance name kept per thread (names are at most 63). */
#define AOS_CRASH_NAME_MAX 64
/* Plugin libraries the table can name at once; more are recorded without a plugin. */
#define AOS_CRASH_LIBRARIES_MAX 256

/**
 * aos_crash_configure — where records go, and warming what the handler uses.
 *
 *   int aos_crash_configure(const char *directory);
 *
 * Copies `directory` (an existing folder; at most PATH_MAX - 64 bytes) and
 * calls backtrace and dladdr once, so that neither loads a library or takes
 * a first-use lock inside a handler. Until it is called, aos_crash_write
 * writes nothing. Thread: once, at startup, before instances run.
 * Returns 0, or -1 when `directory` is too long.
 */
int aos_crash_configure(const char *directory);

/**
 * aos_crash_thread_begin / aos_crash_thread_end — the calling thread runs
 * instance `name` (NUL-terminated, copied, cut to AOS_CRASH_NAME_MAX - 1), or
 * no longer does. Thread: the instance's own thread.
 */
void aos_crash_thread_begin(const char *name);
void aos_crash_thread_end(void);

/**
 * aos_crash_register_library — the library holding `symbol` (any address in
 * it, e.g. its descriptor) is a plugin loaded from `source` with content
 * `sha256` (64 hex digits). aos_crash_unregister_library forgets it (before
 * dlclose). When the table is full the library is not registered and a crash
 * in it names no plugin. Thread-safe.
 */
void aos_crash_register_library(const void *symbol, const char *source, const char *sha256);
void aos_crash_unregister_library(const void *symbol);

/**
 * aos_crash_write — writes the crash record of `signal` on the calling thread.
 *
 *   const char *aos_crash_write(int signal, const siginfo_t *info, const void *ucontext,
 *                               const char *thread_name, const char *tool);
 *
 * `thread_name` is the OS's name of the thread, `tool` the label of the tool
 * call running on it ("INSTANCE.tool") or NULL. The record is written to a
 * temporary name and renamed into place, so a reader sees it whole or not
 * at all (unless the disk fills). Async-signal-safe but for dladdr (see the
 * source). Call from one thread at a time (the handler lets only the first
 * crashing thread report). Returns the record's path (a static buffer), or
 * NULL when nothing could be written or no folder is configured.
 */
const char *aos_crash_write(int signal, const siginfo_t *info, const void *ucontext, const char *thread_name, const char *tool);

#ifdef __cplusplus
}
#endif

#endif
