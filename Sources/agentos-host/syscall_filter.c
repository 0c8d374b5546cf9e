/*
 * The host's seccomp-bpf filter: see syscall_filter.h.
 *
 * A short, fixed program written with the kernel's own BPF macros (as
 * OpenSSH's sandbox does), so the host needs no library to build it. It
 * refuses by name and allows the rest: a plugin is ordinary native code
 * (libc, the Swift runtime, C++'s), and what the host must keep it from is
 * reaching outside its process, not the system calls a runtime makes.
 */
#define _GNU_SOURCE
#include "syscall_filter.h"
#include "include/host_proxy.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef FILTER_ARCH

/* Refused whatever the instance is granted. */
static const int always_refused[] = {
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp, __NR_tkill,
#ifdef __NR_pidfd_open
    __NR_pidfd_open, __NR_pidfd_send_signal, __NR_pidfd_getfd,
#endif
    __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns,
#ifdef __NR_fsopen
    __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick, __NR_move_mount, __NR_open_tree,
#endif
    __NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_open_by_handle_at,
    __NR_kexec_load, __NR_kexec_file_load, __NR_init_module, __NR_finit_module, __NR_delete_module,
    __NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct,
    __NR_keyctl, __NR_add_key, __NR_request_key,
#ifdef __NR_io_uring_setup
    __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
};

/* Allowed only with signal to the host's own pid (its first argument). */
static const int signals_to_self[] = {__NR_kill, __NR_tgkill, __NR_rt_sigqueueinfo, __NR_rt_tgsigqueueinfo};

/* Refused without AOS_HOST_ALLOW_SPAWN (clone is checked for CLONE_THREAD apart). */
static const int spawning[] = {
#ifdef __NR_fork
    __NR_fork,
#endif
#ifdef __NR_vfork
    __NR_vfork,
#endif
    __NR_execve, __NR_execveat,
};

enum { capacity = 192 };
typedef struct program {
    struct sock_filter code[capacity];
    unsigned short len;
    int overflow;
} program;

static void emit(program *p, struct sock_filter instruction) {
    if (p->len == capacity) {
        p->overflow = 1;
        return;
    }
    p->code[p->len++] = instruction;
}

#define RETURN_ERRNO(err) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))
#define RETURN_ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
/* The low 32 bits of the first argument (both architectures are little-endian). */
#define LOAD_ARG0 BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]))

/* `nr` fails with `err`; the accumulator keeps the syscall number. */
static void refuse(program *p, int nr, int err) {
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1));
    emit(p, (struct sock_filter)RETURN_ERRNO(err));
}

/* `nr` is allowed when its first argument passes `code` against `k` (BPF_JEQ: equals k;
 * BPF_JSET: has a bit of k in common), refused with EPERM otherwise. */
static void allow_if_arg0(program *p, int nr, uint32_t code, uint32_t k) {
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4));
    emit(p, (struct sock_filter)LOAD_ARG0);
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | code | BPF_K, k, 0, 1));
    emit(p, (struct sock_filter)RETURN_ALLOW);
    emit(p, (struct sock_filter)RETURN_ERRNO(EPERM));
}

int aos_host_filter_syscalls(uint32_t allow, char *why, size_t why_cap) {
    program p = {.len = 0, .overflow = 0};
    emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0));
    emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    emit(&p, (struct sock_filter)LOAD_NR);
#if defined(__x86_64__)
    /* The x32 ABI's numbers would name the same calls past every check below. */
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
    emit(&p, (struct sock_filter)RETURN_ERRNO(EPERM));
#endif
    for (size_t i = 0; i < sizeof always_refused / sizeof always_refused[0]; i++) refuse(&p, always_refused[i], EPERM);
    uint32_t self = (uint32_t)getpid();
    for (size_t i = 0; i < sizeof signals_to_self / sizeof signals_to_self[0]; i++)
        allow_if_arg0(&p, signals_to_self[i], BPF_JEQ, self);
    if (!(allow & AOS_HOST_ALLOW_NET)) refuse(&p, __NR_socket, EPERM);
    if (!(allow & AOS_HOST_ALLOW_SPAWN)) {
        for (size_t i = 0; i < sizeof spawning / sizeof spawning[0]; i++) refuse(&p, spawning[i], EPERM);
        allow_if_arg0(&p, __NR_clone, BPF_JSET, CLONE_THREAD);
#ifdef __NR_clone3
        /* Its flags are behind a pointer the filter cannot read; ENOSYS makes libc fall back to clone. */
        refuse(&p, __NR_clone3, ENOSYS);
#endif
    }
    emit(&p, (struct sock_filter)RETURN_ALLOW);
    if (p.overflow) {
        snprintf(why, why_cap, "the syscall filter outgrew its %d instructions", capacity);
        return -1;
    }
    struct sock_fprog fprog = {.len = p.len, .filter = p.code};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
        snprintf(why, why_cap, "cannot install the seccomp filter: %s", strerror(errno));
        return -1;
    }
    return 0;
}

#else

int aos_host_filter_syscalls(uint32_t allow, char *why, size_t why_cap) {
    (void)allow;
    snprintf(why, why_cap, "no seccomp filter is written for this architecture (x86-64 and arm64 only)");
    return -1;
}

#endif
