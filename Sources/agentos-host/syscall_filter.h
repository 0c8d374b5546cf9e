/*
 * syscall_filter.h — the host's seccomp-bpf filter.
 *
 * What a process-mode plugin may not do, whatever it is granted: reach into
 * another process (ptrace, process_vm_*, pidfd_*, a signal to any process but
 * its own), leave or reshape its namespaces and mounts, load kernel code
 * (bpf, modules, kexec), use io_uring (whose operations would bypass the
 * filter), perf_event_open, userfaultfd, the kernel keyring.
 * What it may do only when granted (AOS_HOST_ALLOW_* in host_proxy.h):
 * `net`, create sockets; `spawn`, start processes (fork, clone without
 * CLONE_THREAD, vfork) and programs (execve). A refused call fails with
 * EPERM; nothing is killed. Threads are always allowed.
 */
#ifndef AGENTOS_HOST_SYSCALL_FILTER_H
#define AGENTOS_HOST_SYSCALL_FILTER_H

#include <stddef.h>
#include <stdint.h>

/** Installs the filter on the calling process (and every thread it starts
 * later), with `allow` a set of AOS_HOST_ALLOW_* bits. Needs no_new_privs.
 * Returns 0, or -1 with the reason in `why`. */
int aos_host_filter_syscalls(uint32_t allow, char *why, size_t why_cap);

#endif
