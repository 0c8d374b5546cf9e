/*
 * host_proxy.h — the kernel's side of a process-mode instance.
 *
 * A process-mode instance runs in the kernel like any other: its thread runs
 * the normal mailbox loop and calls its descriptor's init, on_message and
 * stop, and at a hot reload save and restore. For a process-mode instance
 * these are the proxies below (save and restore only when the plugin has
 * them): each sends the call to the instance's `agentos-host` process and
 * serves the host's syscall frames, as that instance, through the kernel's
 * own syscall table (so capabilities, quotas and ownership rules apply
 * unchanged), until the host says the plugin's function returned.
 *
 * Supervision: when the host dies (signal, exit, closed channel, an invalid
 * frame, or no answer within answer_timeout_ms while plugin code runs), the
 * call in progress returns AOS_ECRASHED and the crash is recorded in the
 * launch. `aos_host_proxy_recover` (the kernel calls it once the caller has
 * its answer) or else the next message starts a new host (init again with
 * the same config), as its restart policy says: `permanent` always,
 * `transient` unless the host exited with status 0, `temporary` never; and
 * only while at most `intensity` crashes came within `period_ms`, with a
 * backoff from the second crash in a row. Otherwise the launch is ended
 * (`ended`: 1 failed, 2 ended normally) and every later message returns
 * AOS_ECRASHED at once. The mailbox and its queued messages belong to the
 * kernel and survive a crash.
 *
 * Pipelining: plain messages need not wait for each other. The instance's
 * thread may post several (aos_host_proxy_post) and then collect their
 * handlers' statuses in order (aos_host_proxy_collect), which sends them in
 * one write and serves their syscalls as they come; on_message, save,
 * restore and stop are called only when nothing posted is left to collect.
 *
 * A host that dies in save answers AOS_ECRASHED (recorded, not restarted:
 * the instance is ending), and the new version starts with what its init
 * made. A host that dies in restore answers AOS_ECRASHED like on_message,
 * and the kernel handles it as a crash of the new instance.
 *
 * Thread: the proxies run on the instance's own thread only; the fields
 * marked "any thread" may be read by others (ps).
 */
#ifndef AGENTOS_HOST_PROXY_H
#define AGENTOS_HOST_PROXY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/** What a process-mode instance runs and how it is supervised. Owned by the
 * kernel's image of the instance; lives until that image is closed. */
typedef struct aos_host_launch {
    const char *host_path;      /* the agentos-host executable */
    const char *plugin_path;    /* the verified private copy of the plugin */
    const char *log_path;       /* where the host's stdout and stderr go: a fresh file per start, the previous one kept as log_path.1 */
    uint32_t restart_policy;    /* AOS_HOST_RESTART_* */
    uint32_t intensity;         /* crashes allowed within period_ms before the instance fails */
    uint32_t period_ms;
    /* Limits, set with aos_host_launch_set_limits (any thread, atomic): */
    uint32_t answer_timeout_ms; /* how long on_message and stop may run between two syscalls; 0: as long as they take; applies at once */
    uint64_t memory_limit_bytes; /* RLIMIT_AS of the host; 0 = none; applies from the next host started */
    uint64_t cpu_limit_seconds;  /* RLIMIT_CPU of the host; 0 = none; applies from the next host started */
    uint32_t sandbox_allow;      /* AOS_HOST_ALLOW_* the host's syscall filter lets through; set with
                                    aos_host_launch_set_sandbox (any thread, atomic); applies from the next host started */

    /* Any thread (ps): */
    int32_t pid;                /* the running host's pid, 0 when none (atomic) */
    uint32_t restarts;          /* hosts started after a crash (atomic) */
    uint32_t ended;             /* AOS_HOST_ENDED_*: 0 while it may run (atomic) */
    pthread_mutex_t crash_lock;
    char last_crash[512];       /* "SIGSEGV at 0x0 in crash_handler+0x12 (plugin.so)", under crash_lock */
    char last_reason[24];       /* signal, exit, closed, invalid_frame, no_answer: the metric's label, under crash_lock */
    uint64_t last_crash_unix_ms;
    uint64_t crashes;           /* crashes so far, under crash_lock */
} aos_host_launch;

/* What a host's syscall filter lets its plugin do beyond its own process (the
 * host's third argument is a decimal set of these bits): */
#define AOS_HOST_ALLOW_NET   1u /* create sockets (capability `net`) */
#define AOS_HOST_ALLOW_SPAWN 2u /* start processes and programs (capability `spawn`) */

#define AOS_HOST_RESTART_PERMANENT 0u
#define AOS_HOST_RESTART_TRANSIENT 1u
#define AOS_HOST_RESTART_TEMPORARY 2u

#define AOS_HOST_ENDED_FAILED 1u   /* crashed and not restarted: intensity exceeded, temporary, or init refused */
#define AOS_HOST_ENDED_NORMALLY 2u /* exited with status 0 and its policy does not restart that */

/** Initializes `launch`'s lock and counters; call once before use. */
void aos_host_launch_prepare(aos_host_launch *launch);
/** The running host's pid (0 when none), restarts so far, and whether it failed for good; any thread. */
int32_t aos_host_launch_pid(aos_host_launch *launch);
uint32_t aos_host_launch_restarts(aos_host_launch *launch);
uint32_t aos_host_launch_ended(aos_host_launch *launch);
/** Sets the limits above (0: none); any thread. */
void aos_host_launch_set_limits(aos_host_launch *launch, uint32_t answer_timeout_ms, uint64_t memory_limit_bytes,
                                uint64_t cpu_limit_seconds);
/** Sets what the host's syscall filter lets the plugin do (AOS_HOST_ALLOW_* bits); any thread. */
void aos_host_launch_set_sandbox(aos_host_launch *launch, uint32_t allow);
/** Copies the last crash and its reason keyword (NUL-terminated, truncated to
 * their caps) and returns the crash count; any thread. */
uint64_t aos_host_launch_last_crash(aos_host_launch *launch, char *out, size_t cap, char *reason, size_t reason_cap);

/** Points `descriptor` (an aos_plugin_descriptor the kernel owns, a copy of
 * the plugin's) at the proxies: save and restore only where the plugin set
 * them, NULL elsewhere. Its init expects `*state` to hold the
 * instance's aos_host_launch on entry (the kernel's image puts it there) and
 * replaces it by the instance's session. The header stays free of agentos.h
 * so Swift sees the ABI's types through CAgentOS alone. */
void aos_host_proxy_install(void *descriptor);

/** On the instance's thread, with the `state` init gave: queues `message` (an
 * aos_message, copied) for the host without waiting for its handler; it is
 * written at the next collect. Returns 0 when more messages fit, 1 when the
 * pipeline is full (AOS_HOST_PIPELINE_MAX messages or about
 * AOS_HOST_PIPELINE_BYTES in flight: collect before the next post), or a
 * negative aos_status when it was not queued: AOS_ECRASHED when no host
 * runs, AOS_ENOMEM when the frame could not be made. Deliver a message that
 * was not queued with on_message (which restarts a host as its policy says). */
int aos_host_proxy_post(void *ctx, void *state, const void *message);

/** On the instance's thread: writes what was posted, serves the host's
 * syscalls (as the instance, for the oldest posted message) until its
 * handler returns, and returns that status. Returns AOS_ECRASHED when the
 * host died (recorded as by on_message): the oldest message was running, the
 * host never started the others, and nothing posted is outstanding any more
 * (post them again once a host runs). AOS_EINTERNAL when nothing was posted. */
int32_t aos_host_proxy_collect(void *ctx, void *state);

/** After a crash, on the instance's thread, with the `state` init gave:
 * starts the next host if its policy allows (backoff included). Returns 0
 * when a host runs, -1 when the launch has ended (see `ended`). */
int aos_host_proxy_recover(void *ctx, void *state);

#endif
