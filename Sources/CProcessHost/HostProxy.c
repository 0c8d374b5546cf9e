/* The kernel's side of a process-mode instance: see host_proxy.h. */
#define _GNU_SOURCE
#include "host_proxy.h"
#include "HostChannel.h"

#ifndef AOS_ECRASHED
#define AOS_ECRASHED (-21)
#endif

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct session {
    aos_host_launch *launch;
    const aos_kernel_api *api;
    char *config;
    int fd;      /* -1 while no host runs */
    pid_t pid;
    aos_host_writer out;
    aos_host_inbox in;            /* what the host sent and the kernel has not taken yet */
    aos_host_returns *returns;    /* the host's returns page (HostChannel.h), mapped while a host runs */
    uint64_t sent;                /* MESSAGE frames written to this host */
    uint64_t returned;            /* their returns taken from the page */
    int awaiting_return;          /* serving a MESSAGE: its return comes through the page */
    aos_buffer *saving;           /* serving SAVE: where the bytes of its SAVED frame go */
    /* The pipeline (aos_host_proxy_post, aos_host_proxy_collect): */
    aos_host_writer ahead;        /* MESSAGE frames posted and not written yet */
    uint32_t unsent;              /* how many frames `ahead` holds */
    uint32_t outstanding;         /* MESSAGE frames posted whose return has not been taken */
    uint32_t oldest;              /* the slot of the oldest of them in `sizes` */
    uint32_t sizes[AOS_HOST_PIPELINE_MAX]; /* their sizes, a ring */
    size_t in_flight;             /* the sum of their sizes */
    uint32_t receive_timeout_ms;  /* the socket's SO_RCVTIMEO now (0: none) */
    uint64_t crash_times[64]; /* monotonic ms of recent crashes, a ring */
    uint32_t crash_count;
    char crash_detail[384];   /* what the host's CRASH frame said, if it sent one */
    int exited_normally;      /* the last host exited with status 0 (no signal, no protocol fault) */
} session;

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t realtime_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void aos_host_launch_prepare(aos_host_launch *launch) {
    pthread_mutex_init(&launch->crash_lock, NULL);
    launch->last_crash[0] = '\0';
    launch->last_reason[0] = '\0';
    launch->crashes = 0;
    launch->last_crash_unix_ms = 0;
    __atomic_store_n(&launch->pid, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&launch->restarts, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&launch->ended, 0, __ATOMIC_RELAXED);
}

int32_t aos_host_launch_pid(aos_host_launch *launch) { return __atomic_load_n(&launch->pid, __ATOMIC_RELAXED); }
uint32_t aos_host_launch_restarts(aos_host_launch *launch) { return __atomic_load_n(&launch->restarts, __ATOMIC_RELAXED); }
uint32_t aos_host_launch_ended(aos_host_launch *launch) { return __atomic_load_n(&launch->ended, __ATOMIC_RELAXED); }

void aos_host_launch_set_limits(aos_host_launch *launch, uint32_t answer_timeout_ms, uint64_t memory_limit_bytes,
                                uint64_t cpu_limit_seconds) {
    __atomic_store_n(&launch->answer_timeout_ms, answer_timeout_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&launch->memory_limit_bytes, memory_limit_bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&launch->cpu_limit_seconds, cpu_limit_seconds, __ATOMIC_RELAXED);
}

void aos_host_launch_set_sandbox(aos_host_launch *launch, uint32_t allow) {
    __atomic_store_n(&launch->sandbox_allow, allow, __ATOMIC_RELAXED);
}

static uint32_t answer_timeout(const session *s) { return __atomic_load_n(&s->launch->answer_timeout_ms, __ATOMIC_RELAXED); }

uint64_t aos_host_launch_last_crash(aos_host_launch *launch, char *out, size_t cap, char *reason, size_t reason_cap) {
    pthread_mutex_lock(&launch->crash_lock);
    if (cap) snprintf(out, cap, "%s", launch->last_crash);
    if (reason_cap) snprintf(reason, reason_cap, "%s", launch->last_reason);
    uint64_t crashes = launch->crashes;
    pthread_mutex_unlock(&launch->crash_lock);
    return crashes;
}

/* ---- the host process ---- */

/* Keeps what the previous host wrote to `log` as `log`.1 before the next
 * one starts a fresh file: the output of a host that crashed survives its
 * restart, and a reload's old host goes on writing there. */
static void keep_previous_log(const char *log) {
    struct stat st;
    char previous[PATH_MAX];
    if (stat(log, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return;
    if (snprintf(previous, sizeof previous, "%s.1", log) >= (int)sizeof previous) return;
    rename(log, previous);
}

/* Makes a returns page, sealed at its size so that the host cannot shrink
 * it under the kernel's mapping; returns its fd (mapped into `*page`), or -1
 * with the reason in `why`. */
static int make_returns_page(aos_host_returns **page, char *why, size_t why_cap) {
    int fd = memfd_create("agentos-host-returns", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        snprintf(why, why_cap, "memfd_create failed: %s", strerror(errno));
        return -1;
    }
    void *mapped = MAP_FAILED;
    if (ftruncate(fd, AOS_HOST_RETURNS_SIZE) == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
        mapped = mmap(NULL, AOS_HOST_RETURNS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) {
        snprintf(why, why_cap, "cannot make the host's returns page: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *page = (aos_host_returns *)mapped;
    return fd;
}

/* Starts a host with a fresh socket pair and returns page; returns 0, or -1 with the reason in `why`. */
static int spawn_host(session *s, char *why, size_t why_cap) {
    aos_host_returns *page = NULL;
    int page_fd = make_returns_page(&page, why, why_cap);
    if (page_fd < 0) return -1;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        snprintf(why, why_cap, "socketpair failed: %s", strerror(errno));
        close(page_fd);
        munmap(page, AOS_HOST_RETURNS_SIZE);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_adddup2(&actions, pair[1], AOS_HOST_FD);
    posix_spawn_file_actions_adddup2(&actions, page_fd, AOS_HOST_RETURNS_FD);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const char *log = s->launch->log_path ? s->launch->log_path : "/dev/null";
    keep_previous_log(log);
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    /* Its own process group, so a kill takes whatever it forked too; default signal handling. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    char memory[32], cpu[32], allow[16];
    snprintf(memory, sizeof memory, "%llu", (unsigned long long)__atomic_load_n(&s->launch->memory_limit_bytes, __ATOMIC_RELAXED));
    snprintf(cpu, sizeof cpu, "%llu", (unsigned long long)__atomic_load_n(&s->launch->cpu_limit_seconds, __ATOMIC_RELAXED));
    snprintf(allow, sizeof allow, "%u", __atomic_load_n(&s->launch->sandbox_allow, __ATOMIC_RELAXED));
    char *argv[] = {(char *)s->launch->host_path, memory, cpu, allow, NULL};
    pid_t pid = 0;
    int rc = posix_spawn(&pid, s->launch->host_path, &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(pair[1]);
    close(page_fd);
    if (rc != 0) {
        close(pair[0]);
        munmap(page, AOS_HOST_RETURNS_SIZE);
        snprintf(why, why_cap, "cannot start %s: %s", s->launch->host_path, strerror(rc));
        return -1;
    }
    s->fd = pair[0];
    s->returns = page;
    s->sent = 0;
    s->returned = 0;
    s->unsent = 0;
    s->pid = pid;
    s->receive_timeout_ms = 0;
    aos_host_inbox_reset(&s->in);
    s->ahead.len = 0;
    s->outstanding = 0;
    s->oldest = 0;
    s->in_flight = 0;
    s->crash_detail[0] = '\0';
    __atomic_store_n(&s->launch->pid, pid, __ATOMIC_RELAXED);
    return 0;
}

/* Kills the host (and its process group), reaps it and describes how it ended
 * into `how`; returns "signal" or "exit" (the crash reason when the channel just closed). */
static const char *end_host(session *s, int kill_it, char *how, size_t how_cap) {
    if (s->fd >= 0) { close(s->fd); s->fd = -1; }
    if (s->returns) { munmap(s->returns, AOS_HOST_RETURNS_SIZE); s->returns = NULL; }
    s->exited_normally = 0;
    if (s->pid <= 0) { snprintf(how, how_cap, "no host"); return "closed"; }
    if (kill_it) kill(-s->pid, SIGKILL);
    int status = 0;
    pid_t got;
    /* A host whose channel closed is gone or going: give it 2 s, then kill. */
    uint64_t deadline = monotonic_ms() + 2000;
    while ((got = waitpid(s->pid, &status, WNOHANG)) == 0) {
        if (monotonic_ms() > deadline) { kill(-s->pid, SIGKILL); got = waitpid(s->pid, &status, 0); break; }
        usleep(1000);
    }
    kill(-s->pid, SIGKILL); /* anything it forked */
    const char *kind = "closed";
    if (got == s->pid && WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *name = sigabbrev_np(sig);
        snprintf(how, how_cap, "killed by SIG%s", name ? name : "?");
        kind = "signal";
    } else if (got == s->pid && WIFEXITED(status)) {
        snprintf(how, how_cap, "exited with status %d", WEXITSTATUS(status));
        s->exited_normally = !kill_it && WEXITSTATUS(status) == 0;
        kind = "exit";
    } else {
        snprintf(how, how_cap, "ended");
    }
    s->pid = 0;
    __atomic_store_n(&s->launch->pid, 0, __ATOMIC_RELAXED);
    return kind;
}

/* Records a crash: the host is ended (killed when `kill_it`), and the reason
 * kept for ps and the log. `kind` is the metric's reason label; NULL takes it
 * from how the host ended (a signal or an exit). */
static void crashed(session *s, int kill_it, const char *kind, const char *reason) {
    char how[128];
    const char *ended = end_host(s, kill_it, how, sizeof how);
    if (!kind) kind = ended;
    char line[1024];
    if (s->crash_detail[0])
        snprintf(line, sizeof line, "%s; host %s (%s)", s->crash_detail, how, reason);
    else
        snprintf(line, sizeof line, "host %s (%s)", how, reason);
    aos_host_launch *launch = s->launch;
    pthread_mutex_lock(&launch->crash_lock);
    snprintf(launch->last_crash, sizeof launch->last_crash, "%s", line);
    snprintf(launch->last_reason, sizeof launch->last_reason, "%s", kind);
    launch->last_crash_unix_ms = realtime_ms();
    launch->crashes += 1;
    pthread_mutex_unlock(&launch->crash_lock);
    s->crash_times[s->crash_count % 64] = monotonic_ms();
    s->crash_count += 1;
}

/* ---- frames ---- */

/* The most a host may send while a write of the kernel waits for room: one
 * SYSCALL frame, the RETURNs of the messages in flight and a CRASH. */
#define DRAIN_MAX ((size_t)AOS_HOST_FRAME_MAX + 65536u)

/* Receives what the host sent while the kernel waits to write, into the
 * inbox, where it is read later in order. Returns 0, 1 when the channel
 * closed, or -1 after recording a crash (an oversize frame, or more than a
 * host may send before it reads). */
static int drain(session *s) {
    size_t have = s->in.end - s->in.start;
    if (have >= sizeof(aos_host_frame_header)) {
        aos_host_frame_header header; /* checked before aos_host_inbox_space makes room for it */
        memcpy(&header, s->in.data + s->in.start, sizeof header);
        if (header.length > AOS_HOST_FRAME_MAX) {
            char why[128];
            snprintf(why, sizeof why, "it sent an oversize frame of %u bytes (limit %u)", header.length, AOS_HOST_FRAME_MAX);
            crashed(s, 1, "invalid_frame", why);
            return -1;
        }
    }
    size_t room = 0;
    uint8_t *at = aos_host_inbox_space(&s->in, &room);
    if (!at) { crashed(s, 1, "internal", "the kernel could not allocate its frame"); return -1; }
    ssize_t n = recv(s->fd, at, room, MSG_DONTWAIT);
    if (n > 0) {
        s->in.end += (size_t)n;
        if (s->in.end - s->in.start <= DRAIN_MAX) return 0;
        crashed(s, 1, "invalid_frame", "it sent more than a host may before it reads the kernel's frames");
        return -1;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return 1;
}

/* Writes `len` bytes to the host. The socket is written without blocking:
 * when it has no room, the kernel waits for room or for the host's frames
 * and receives those (drain), so it never sits in a write while the host
 * sits in one too. Gives up after `timeout_ms` (0: never) with neither.
 * Returns 0 when all is written, 1 when the channel broke (what the host
 * sent before is still to be read, then its end), or -1 after recording a
 * crash. */
static int send_all(session *s, const uint8_t *data, size_t len, uint32_t timeout_ms) {
    while (len) {
        ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return 1;
        struct pollfd ready = {s->fd, POLLIN | POLLOUT, 0};
        int got = poll(&ready, 1, timeout_ms == 0 || timeout_ms > INT_MAX ? -1 : (int)timeout_ms);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return 1;
        if (got == 0) {
            crashed(s, 1, "no_answer", "it did not answer in time");
            return -1;
        }
        if (ready.revents & (POLLIN | POLLHUP | POLLERR)) {
            int drained = drain(s);
            if (drained != 0) return drained;
        }
    }
    return 0;
}

/* A plugin's status as the kernel passes it on. AOS_ECRASHED means "the host
 * died": a plugin that returns it (passing on a failed call's status) only
 * failed, as it would in thread mode. */
static aos_status plugin_status(uint32_t raw) {
    aos_status status = (aos_status)raw;
    return status == AOS_ECRASHED ? AOS_EHANDLER : status;
}

/* True when the page counts a return the kernel awaits and has not taken. */
static int return_counted(const session *s) {
    return s->awaiting_return && __atomic_load_n(&s->returns->returned, __ATOMIC_SEQ_CST) != s->returned;
}

/* Takes the awaited return from the page into `*status`: 1, 0 when it is
 * not counted yet, or -1 after recording a crash (a count that went back or
 * past the MESSAGE frames sent). */
static int take_return(session *s, aos_status *status) {
    if (!s->awaiting_return) return 0;
    uint64_t returned = __atomic_load_n(&s->returns->returned, __ATOMIC_ACQUIRE);
    if (returned == s->returned) return 0;
    if (returned < s->returned || returned > s->sent) {
        crashed(s, 1, "invalid_frame", "its returns page counts returns of messages it was never sent");
        return -1;
    }
    *status = plugin_status((uint32_t)__atomic_load_n(&s->returns->status[s->returned % AOS_HOST_PIPELINE_MAX], __ATOMIC_RELAXED));
    s->returned += 1;
    return 1;
}

/* Receives what the socket holds into `at` (at most `room` bytes), waiting at
 * most `timeout_ms` (0 = forever) through the socket's receive timeout, which
 * is set only when it changes (no poll per frame). Tries AOS_HOST_SPINS times
 * without blocking first; while a return is awaited, announces its sleep in
 * the page (HostChannel.h). Returns the bytes received, -1 on EOF or error,
 * -2 on timeout, -3 when the page counts the awaited return. */
static ssize_t receive(session *s, uint8_t *at, size_t room, uint32_t timeout_ms) {
    for (unsigned i = 0; i < AOS_HOST_SPINS; i++) {
        ssize_t n = recv(s->fd, at, room, MSG_DONTWAIT);
        if (n > 0) return n;
        if (return_counted(s)) return -3; /* also what it counted before it closed */
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return -1;
        sched_yield();
    }
    if (timeout_ms != s->receive_timeout_ms) {
        struct timeval tv = {(time_t)(timeout_ms / 1000u), (suseconds_t)(timeout_ms % 1000u) * 1000};
        if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return -1;
        s->receive_timeout_ms = timeout_ms;
    }
    if (s->awaiting_return) __atomic_store_n(&s->returns->kernel_sleeps, 1, __ATOMIC_SEQ_CST);
    ssize_t n;
    do n = return_counted(s) ? -3 : recv(s->fd, at, room, 0);
    while (n < 0 && n != -3 && errno == EINTR);
    if (s->awaiting_return) __atomic_store_n(&s->returns->kernel_sleeps, 0, __ATOMIC_SEQ_CST);
    if (n > 0) return n;
    if (n == -3 || return_counted(s)) return -3; /* also what it counted before it closed or went quiet */
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : -1;
}

/* Sends the frame written in `out`, as send_all (0, 1 or -1). */
static int send_frame(session *s, uint32_t timeout_ms) {
    size_t len = aos_host_writer_end(&s->out);
    if (!len) {
        crashed(s, 1, "internal", "the kernel could not encode its frame");
        return -1;
    }
    return send_all(s, s->out.data, len, timeout_ms);
}

/* What read_frame returns when the page counts the awaited return. */
#define RETURN_IN_PAGE 0xFFFFFFFFu

/* Takes the host's next frame, receiving when none is buffered and waiting at
 * most `timeout_ms` for it to begin (0: as long as it takes); a frame begun
 * must be whole within 5 s. Returns its type with its payload in `r` (lent
 * until the next call); RETURN_IN_PAGE with the awaited return's status in
 * `*status` (checked before each frame: the frames that come after a return
 * belong to later messages); or 0 after recording the host as crashed. */
static uint32_t read_frame(session *s, aos_host_reader *r, aos_status *status, uint32_t timeout_ms) {
    for (;;) {
        int taken = take_return(s, status);
        if (taken) return taken > 0 ? RETURN_IN_PAGE : 0;
        uint32_t type = 0, length = 0;
        int got = aos_host_inbox_next(&s->in, r, &type, &length);
        if (got == 1 && type != 0 && type != RETURN_IN_PAGE) return type;
        if (got == 1) { /* what this function's answers mean, never a frame's type */
            crashed(s, 1, "invalid_frame", "it sent an invalid unknown frame");
            return 0;
        }
        if (got < 0) {
            char why[128];
            snprintf(why, sizeof why, "it sent an oversize frame of %u bytes (limit %u)", length, AOS_HOST_FRAME_MAX);
            crashed(s, 1, "invalid_frame", why);
            return 0;
        }
        /* Posted MESSAGE frames wait while frames are buffered, so a flood
         * goes out in few writes; they go before the kernel waits. */
        if (s->ahead.len) {
            int sent = send_all(s, s->ahead.data, s->ahead.len, timeout_ms);
            s->ahead.len = 0;
            s->sent += s->unsent;
            s->unsent = 0;
            if (sent < 0) return 0;
            continue; /* the write may have drained frames into the inbox */
        }
        int begun = aos_host_inbox_begun(&s->in);
        size_t room = 0;
        uint8_t *at = aos_host_inbox_space(&s->in, &room);
        if (!at) { crashed(s, 1, "internal", "the kernel could not allocate its frame"); return 0; }
        ssize_t n = receive(s, at, room, begun && !timeout_ms ? 5000 : timeout_ms);
        if (n > 0) { s->in.end += (size_t)n; continue; }
        if (n == -3) continue;
        if (begun) crashed(s, 1, "invalid_frame", "it sent a truncated frame");
        else if (n == -2) crashed(s, 1, "no_answer", "it did not answer in time");
        else crashed(s, 0, NULL, "its channel closed");
        return 0;
    }
}

static void bad_frame(session *s, const char *what) {
    char why[160];
    snprintf(why, sizeof why, "it sent an invalid %s frame", what);
    crashed(s, 1, "invalid_frame", why);
}

/* ---- serving the host's syscalls ---- */

static void put_buffer_and_release(session *s, aos_ctx *ctx, aos_status status, aos_buffer *buffer) {
    aos_host_put_bytes(&s->out, status == AOS_OK ? buffer->ptr : NULL, status == AOS_OK ? buffer->len : 0);
    if (buffer->ptr) s->api->release(ctx, buffer);
}

/* Lists of strings read from a REQUEST: at most this many each (the kernel refuses more anyway). */
#define MAX_LISTED 4096u

/* Reads a u32 count and that many strings (lent from the frame) into a new array. */
static const char **get_strings(aos_host_reader *r, uint32_t *count) {
    *count = aos_host_get_u32(r);
    if (r->bad || *count == 0) return NULL;
    if (*count > MAX_LISTED) { r->bad = 1; return NULL; }
    const char **list = (const char **)calloc(*count, sizeof *list);
    if (!list) { r->bad = 1; return NULL; }
    for (uint32_t i = 0; i < *count; i++) {
        list[i] = aos_host_get_string(r);
        if (!list[i]) r->bad = 1; /* no NULL entries */
    }
    return list;
}

/* Reads a REQUEST into `request`, pointing into the frame; frees nothing on
 * failure but returns -1 (the caller frees the lists it got). */
static int get_infer_request(aos_host_reader *r, aos_infer_request *request, aos_chat_message **messages,
                             const char ***stop, const char ***tools) {
    memset(request, 0, sizeof *request);
    request->struct_size = sizeof *request;
    uint32_t n = aos_host_get_u32(r);
    if (r->bad || n == 0 || n > MAX_LISTED) return -1;
    *messages = (aos_chat_message *)calloc(n, sizeof **messages);
    if (!*messages) return -1;
    for (uint32_t i = 0; i < n; i++) {
        (*messages)[i].role = aos_host_get_string(r);
        (*messages)[i].content = aos_host_get_string(r);
        if (!(*messages)[i].role || !(*messages)[i].content) return -1;
    }
    request->n_messages = n;
    request->messages = *messages;
    request->max_tokens = aos_host_get_u32(r);
    uint32_t bits = aos_host_get_u32(r);
    memcpy(&request->temperature, &bits, sizeof bits);
    bits = aos_host_get_u32(r);
    memcpy(&request->top_p, &bits, sizeof bits);
    request->priority = (int32_t)aos_host_get_u32(r);
    request->seed = aos_host_get_u64(r);
    *stop = get_strings(r, &request->n_stop);
    request->stop = *stop;
    request->grammar = aos_host_get_string(r);
    request->json_schema = aos_host_get_string(r);
    *tools = get_strings(r, &request->n_tools);
    request->tools = *tools;
    request->tool_choice = aos_host_get_u32(r);
    request->max_steps = aos_host_get_u32(r);
    request->session = aos_host_get_string(r);
    request->session_policy = aos_host_get_u32(r);
    request->session_busy = aos_host_get_u32(r);
    return aos_host_reader_done(r) ? 0 : -1;
}

/* Serves INFER or INFER_SUBMIT: reads the REQUEST, runs the syscall, writes the outputs into `out` after status. */
static int serve_infer(session *s, aos_ctx *ctx, aos_host_reader *r, int submit) {
    aos_infer_request request;
    aos_chat_message *messages = NULL;
    const char **stop = NULL, **tools = NULL;
    int ok = get_infer_request(r, &request, &messages, &stop, &tools) == 0;
    aos_infer_result result;
    memset(&result, 0, sizeof result);
    result.struct_size = sizeof result;
    uint64_t id = 0;
    aos_status status = AOS_EINVAL;
    if (ok) status = submit ? s->api->infer_submit(ctx, &request, &id) : s->api->infer(ctx, &request, &result);
    free(messages);
    free(stop);
    free(tools);
    if (!ok) return -1;
    aos_host_writer_begin(&s->out, AOS_HOST_RESULT);
    aos_host_put_u32(&s->out, (uint32_t)status);
    aos_host_put_string(&s->out, status == AOS_OK ? NULL : s->api->last_error(ctx));
    if (submit) {
        aos_host_put_u64(&s->out, id);
    } else {
        result.status = status;
        aos_host_put_infer_result(&s->out, &result);
        if (result.text.ptr) s->api->release(ctx, &result.text);
        if (result.trace.ptr) s->api->release(ctx, &result.trace);
    }
    return 0;
}

/* Runs one SYSCALL frame as the instance and sends its RESULT (the host
 * reads while it waits for it: see send_all for `timeout_ms`). Returns 0
 * (also when the channel broke: the next read finds out why), or -1 after
 * recording a crash. */
static int serve_syscall(session *s, aos_ctx *ctx, aos_host_reader *r, uint32_t timeout_ms) {
    const aos_kernel_api *api = s->api;
    uint32_t number = aos_host_get_u32(r);
    aos_status status = AOS_OK;
    aos_host_writer *out = &s->out;
    /* Outputs are written after status and last_error, so collect them first. */
    aos_buffer buffer = {NULL, 0};
    uint64_t u64_out = 0;
    aos_self_info info;
    int has_buffer = 0, has_u64 = 0, has_self = 0;

    switch (number) {
    case AOS_HOST_SYS_SEND: {
        const char *to = aos_host_get_string(r);
        aos_bytes body = aos_host_get_bytes(r);
        uint32_t timeout = aos_host_get_u32(r);
        if (!aos_host_reader_done(r) || !to) goto bad;
        status = api->send(ctx, to, body, timeout);
        break;
    }
    case AOS_HOST_SYS_CALL: {
        const char *to = aos_host_get_string(r);
        aos_bytes body = aos_host_get_bytes(r);
        uint32_t timeout = aos_host_get_u32(r);
        if (!aos_host_reader_done(r) || !to) goto bad;
        status = api->call(ctx, to, body, timeout, &buffer);
        has_buffer = 1;
        break;
    }
    case AOS_HOST_SYS_REPLY: {
        uint64_t id = aos_host_get_u64(r);
        aos_bytes body = aos_host_get_bytes(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->reply(ctx, id, body);
        break;
    }
    case AOS_HOST_SYS_LOG: {
        uint32_t level = aos_host_get_u32(r);
        const char *text = aos_host_get_string(r);
        if (!aos_host_reader_done(r) || !text) goto bad;
        status = api->log(ctx, level, text);
        break;
    }
    case AOS_HOST_SYS_NOW: {
        uint32_t clock = aos_host_get_u32(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->now(ctx, clock, &u64_out);
        has_u64 = 1;
        break;
    }
    case AOS_HOST_SYS_SELF:
        if (!aos_host_reader_done(r)) goto bad;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        status = api->self(ctx, &info);
        has_self = 1;
        break;
    case AOS_HOST_SYS_TOOL_CALL: {
        const char *tool = aos_host_get_string(r);
        const char *args = aos_host_get_string(r);
        uint32_t timeout = aos_host_get_u32(r);
        if (!aos_host_reader_done(r) || !tool || !args) goto bad;
        status = api->tool_call(ctx, tool, args, timeout, &buffer);
        has_buffer = 1;
        break;
    }
    case AOS_HOST_SYS_TOOLS_LIST: {
        const char *pattern = aos_host_get_string(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->tools_list(ctx, pattern, &buffer);
        has_buffer = 1;
        break;
    }
    case AOS_HOST_SYS_TOOL_ERROR: {
        const char *message = aos_host_get_string(r);
        if (!aos_host_reader_done(r) || !message) goto bad;
        status = api->tool_error(ctx, message);
        break;
    }
    case AOS_HOST_SYS_PLUGIN_LOAD: {
        const char *path = aos_host_get_string(r);
        const char *name = aos_host_get_string(r);
        const char *config = aos_host_get_string(r);
        if (!aos_host_reader_done(r) || !path) goto bad;
        status = api->plugin_load(ctx, path, name, config);
        break;
    }
    case AOS_HOST_SYS_PLUGIN_UNLOAD: {
        const char *name = aos_host_get_string(r);
        if (!aos_host_reader_done(r) || !name) goto bad;
        status = api->plugin_unload(ctx, name);
        break;
    }
    case AOS_HOST_SYS_INFER_CANCEL: {
        uint64_t id = aos_host_get_u64(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->infer_cancel(ctx, id);
        break;
    }
    case AOS_HOST_SYS_KV_GET: {
        const char *ns = aos_host_get_string(r);
        const char *key = aos_host_get_string(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->kv_get(ctx, ns, key, &buffer, &u64_out);
        has_buffer = has_u64 = 1;
        break;
    }
    case AOS_HOST_SYS_KV_PUT: {
        const char *ns = aos_host_get_string(r);
        const char *key = aos_host_get_string(r);
        aos_bytes value = aos_host_get_bytes(r);
        uint64_t expected = aos_host_get_u64(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->kv_put(ctx, ns, key, value, expected, &u64_out);
        has_u64 = 1;
        break;
    }
    case AOS_HOST_SYS_KV_DELETE: {
        const char *ns = aos_host_get_string(r);
        const char *key = aos_host_get_string(r);
        uint64_t expected = aos_host_get_u64(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->kv_delete(ctx, ns, key, expected);
        break;
    }
    case AOS_HOST_SYS_KV_LIST: {
        const char *ns = aos_host_get_string(r);
        const char *prefix = aos_host_get_string(r);
        const char *after = aos_host_get_string(r);
        uint32_t limit = aos_host_get_u32(r);
        if (!aos_host_reader_done(r)) goto bad;
        status = api->kv_list(ctx, ns, prefix, after, limit, &buffer);
        has_buffer = 1;
        break;
    }
    case AOS_HOST_SYS_INFER:
    case AOS_HOST_SYS_INFER_SUBMIT:
        if (serve_infer(s, ctx, r, number == AOS_HOST_SYS_INFER_SUBMIT) != 0) goto bad;
        return send_frame(s, timeout_ms) < 0 ? -1 : 0;
    default:
        goto bad;
    }

    aos_host_writer_begin(out, AOS_HOST_RESULT);
    aos_host_put_u32(out, (uint32_t)status);
    aos_host_put_string(out, status == AOS_OK ? NULL : api->last_error(ctx));
    if (has_buffer) put_buffer_and_release(s, ctx, status, &buffer);
    if (has_u64) aos_host_put_u64(out, u64_out);
    if (has_self) {
        aos_host_put_u64(out, info.instance_id);
        aos_host_put_string(out, status == AOS_OK ? info.name : "");
        aos_host_put_u64(out, info.max_message_bytes);
        aos_host_put_u32(out, info.mailbox_capacity);
    }
    return send_frame(s, timeout_ms) < 0 ? -1 : 0;
bad:
    bad_frame(s, "syscall");
    return -1;
}

/* Serves the host until it returns (→ 0 and *status): a RETURN frame for INIT,
 * RESTORE and STOP, a SAVED frame for SAVE (serve_save), the page for a
 * MESSAGE (serve_message); or records a crash (→ -1); the plugin may run
 * `timeout_ms` between two frames (0: as long as it takes). */
static int serve(session *s, aos_ctx *ctx, aos_status *status, uint32_t timeout_ms) {
    for (;;) {
        aos_host_reader r;
        uint32_t type = read_frame(s, &r, status, timeout_ms);
        switch (type) {
        case 0:
            return -1;
        case RETURN_IN_PAGE:
            return 0;
        case AOS_HOST_WAKE:
            if (!aos_host_reader_done(&r)) { bad_frame(s, "wake"); return -1; }
            break;
        case AOS_HOST_SYSCALL:
            if (serve_syscall(s, ctx, &r, timeout_ms) != 0) return -1;
            break;
        case AOS_HOST_RETURN: /* of INIT, RESTORE or STOP */
            *status = plugin_status(aos_host_get_u32(&r));
            if (s->awaiting_return || s->saving || !aos_host_reader_done(&r)) { bad_frame(s, "return"); return -1; }
            return 0;
        case AOS_HOST_SAVED: { /* of SAVE */
            *status = plugin_status(aos_host_get_u32(&r));
            aos_bytes bytes = aos_host_get_bytes(&r);
            if (!s->saving || !aos_host_reader_done(&r) || (*status != AOS_OK && bytes.len)) { bad_frame(s, "saved"); return -1; }
            if (bytes.len) {
                s->saving->ptr = (uint8_t *)malloc(bytes.len);
                if (!s->saving->ptr) { *status = AOS_ENOMEM; return 0; }
                memcpy(s->saving->ptr, bytes.ptr, bytes.len);
                s->saving->len = bytes.len;
            }
            return 0;
        }
        case AOS_HOST_CRASH: {
            uint32_t sig = aos_host_get_u32(&r);
            uint64_t address = aos_host_get_u64(&r);
            uint64_t pc = aos_host_get_u64(&r);
            const char *symbol = aos_host_get_string(&r);
            if (!aos_host_reader_done(&r)) { bad_frame(s, "crash"); return -1; }
            const char *name = sigabbrev_np((int)sig);
            snprintf(s->crash_detail, sizeof s->crash_detail, "SIG%s at address 0x%llx, pc 0x%llx in %s",
                     name ? name : "?", (unsigned long long)address, (unsigned long long)pc,
                     symbol && symbol[0] ? symbol : "?");
            break; /* the host dies next: its channel closes */
        }
        default:
            bad_frame(s, "unknown");
            return -1;
        }
    }
}

/* Serves the oldest MESSAGE without a return until the page counts its
 * return (→ 0 and *status), or records a crash (→ -1); as serve. */
static int serve_message(session *s, aos_ctx *ctx, aos_status *status, uint32_t timeout_ms) {
    s->awaiting_return = 1;
    int served = serve(s, ctx, status, timeout_ms);
    s->awaiting_return = 0;
    return served;
}

/* Serves SAVE until its SAVED frame (→ 0, *status, the bytes in `saved`,
 * malloc'd), or records a crash (→ -1); as serve. */
static int serve_save(session *s, aos_ctx *ctx, aos_status *status, aos_buffer *saved, uint32_t timeout_ms) {
    s->saving = saved;
    int served = serve(s, ctx, status, timeout_ms);
    s->saving = NULL;
    return served;
}

/* Starts a host and runs the plugin's init in it. Returns init's status, or AOS_ECRASHED. */
static aos_status start_host(session *s, aos_ctx *ctx) {
    char why[256];
    if (spawn_host(s, why, sizeof why) != 0) {
        s->api->log(ctx, AOS_LOG_ERROR, why);
        return AOS_EINTERNAL;
    }
    aos_host_writer_begin(&s->out, AOS_HOST_INIT);
    aos_host_put_string(&s->out, s->launch->plugin_path);
    aos_host_put_string(&s->out, s->config);
    /* The kernel bounds init itself (--init-timeout). A broken channel shows in serve. */
    if (send_frame(s, 0) < 0) return AOS_ECRASHED;
    aos_status status = AOS_OK;
    if (serve(s, ctx, &status, 0) != 0) return AOS_ECRASHED;
    if (status != AOS_OK) {
        char how[128];
        end_host(s, 1, how, sizeof how);
    }
    return status;
}

static void log_crash(session *s, aos_ctx *ctx, const char *what) {
    char line[640];
    char crash[512];
    aos_host_launch_last_crash(s->launch, crash, sizeof crash, NULL, 0);
    snprintf(line, sizeof line, "crashed %s: %s", what, crash);
    s->api->log(ctx, AOS_LOG_ERROR, line);
}

/* Ends the launch for good (`ended` = `how`), adds `line` to the last crash and logs it. */
static void end_launch(session *s, aos_ctx *ctx, uint32_t how, const char *line) {
    aos_host_launch *launch = s->launch;
    pthread_mutex_lock(&launch->crash_lock);
    size_t used = strlen(launch->last_crash);
    snprintf(launch->last_crash + used, sizeof launch->last_crash - used, "%s%s", used ? "; " : "", line);
    pthread_mutex_unlock(&launch->crash_lock);
    __atomic_store_n(&launch->ended, how, __ATOMIC_RELAXED);
    s->api->log(ctx, how == AOS_HOST_ENDED_FAILED ? AOS_LOG_ERROR : AOS_LOG_INFO, line);
}

/* After a crash: starts the next host as the restart policy says, unless the
 * crashes came too fast (then the launch ends failed). Returns 0 when a host runs. */
static int restart(session *s, aos_ctx *ctx) {
    aos_host_launch *launch = s->launch;
    if (__atomic_load_n(&launch->ended, __ATOMIC_RELAXED)) return -1;
    if (s->fd >= 0) return 0;
    if (s->exited_normally && launch->restart_policy != AOS_HOST_RESTART_PERMANENT) {
        end_launch(s, ctx, AOS_HOST_ENDED_NORMALLY, launch->restart_policy == AOS_HOST_RESTART_TRANSIENT
            ? "ended: the host exited with status 0 and a transient instance is restarted only after a crash"
            : "ended: the host exited with status 0 and a temporary instance is never restarted");
        return -1;
    }
    if (launch->restart_policy == AOS_HOST_RESTART_TEMPORARY) {
        end_launch(s, ctx, AOS_HOST_ENDED_FAILED, "failed: a temporary instance is never restarted");
        return -1;
    }
    uint32_t intensity = launch->intensity;
    if (intensity > 63) intensity = 63;
    if (s->crash_count > intensity) {
        uint64_t oldest = s->crash_times[(s->crash_count - 1 - intensity) % 64];
        if (monotonic_ms() - oldest <= launch->period_ms) {
            char line[256];
            snprintf(line, sizeof line, "failed: %u crashes within %g s exceed its restart intensity of %u; not restarted",
                     intensity + 1, launch->period_ms / 1000.0, intensity);
            end_launch(s, ctx, AOS_HOST_ENDED_FAILED, line);
            return -1;
        }
    }
    /* Backoff: 10 ms from the second crash within the period, doubling, at most 1 s
     * (crashes further apart, however many, restart at once). */
    uint64_t now = monotonic_ms();
    uint32_t recent = 0; /* crashes within the period before this one */
    for (uint32_t back = 2; back <= s->crash_count && back <= 64; back++)
        if (now - s->crash_times[(s->crash_count - back) % 64] <= launch->period_ms) recent++;
    if (recent) {
        uint64_t delay = 10ull << (recent > 7 ? 7 : recent - 1);
        if (delay > 1000) delay = 1000;
        usleep((useconds_t)(delay * 1000));
    }
    aos_status status = start_host(s, ctx);
    if (status == AOS_OK) {
        __atomic_add_fetch(&launch->restarts, 1, __ATOMIC_RELAXED);
        char line[96];
        snprintf(line, sizeof line, "host restarted after a crash (pid %d)", (int)s->pid);
        s->api->log(ctx, AOS_LOG_WARN, line);
        return 0;
    }
    if (status != AOS_ECRASHED) {
        /* init refused the restart: nothing later would go better. */
        char line[128];
        snprintf(line, sizeof line, "failed: init returned %s when restarted after a crash", aos_status_name(status));
        end_launch(s, ctx, AOS_HOST_ENDED_FAILED, line);
        return -1;
    }
    log_crash(s, ctx, "while restarting");
    return -1;
}

int aos_host_proxy_recover(void *ctx, void *state) {
    session *s = (session *)state;
    if (!s) return -1;
    return restart(s, (aos_ctx *)ctx);
}

/* ---- the proxies ---- */

static aos_status proxy_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    aos_host_launch *launch = (aos_host_launch *)*state;
    *state = NULL;
    if (!launch) return AOS_EINTERNAL;
    session *s = (session *)calloc(1, sizeof *s);
    if (!s) return AOS_ENOMEM;
    s->launch = launch;
    s->api = api;
    s->fd = -1;
    s->config = strdup(config ? config : "");
    if (!s->config) { free(s); return AOS_ENOMEM; }
    aos_status status = start_host(s, ctx);
    if (status != AOS_OK) {
        if (status == AOS_ECRASHED) log_crash(s, ctx, "in init");
        free(s->out.data);
        free(s->ahead.data);
        free(s->in.data);
        free(s->config);
        free(s);
        return status;
    }
    *state = s;
    return AOS_OK;
}

/* Writes `msg` as the payload of a MESSAGE frame begun in `w`. */
static void put_message(aos_host_writer *w, const aos_message *msg) {
    aos_host_put_u32(w, msg->flags);
    aos_host_put_u64(w, msg->id);
    aos_host_put_string(w, msg->from);
    aos_host_put_bytes(w, msg->body.ptr, msg->body.len);
    int has_result = msg->struct_size > offsetof(aos_message, inference) && msg->inference != NULL;
    aos_host_put_u32(w, (uint32_t)has_result);
    if (has_result) aos_host_put_infer_result(w, msg->inference);
    aos_host_put_string(w, msg->struct_size > offsetof(aos_message, session) ? msg->session : NULL);
}

static aos_status proxy_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    session *s = (session *)state;
    if (s->outstanding) return AOS_EINTERNAL; /* the runner collects posted messages first */
    if (s->fd < 0 && restart(s, ctx) != 0) return AOS_ECRASHED;
    aos_host_writer_begin(&s->out, AOS_HOST_MESSAGE);
    put_message(&s->out, msg);
    aos_status status = AOS_OK;
    int sent = send_frame(s, answer_timeout(s));
    s->sent += 1;
    if (sent < 0 || serve_message(s, ctx, &status, answer_timeout(s)) != 0) {
        log_crash(s, ctx, "in on_message");
        return AOS_ECRASHED;
    }
    return status;
}

int aos_host_proxy_post(void *ctx, void *state, const void *message) {
    (void)ctx;
    session *s = (session *)state;
    if (s->fd < 0) return AOS_ECRASHED; /* on_message restarts the host, as its policy says */
    aos_host_writer_append(&s->ahead, AOS_HOST_MESSAGE);
    put_message(&s->ahead, (const aos_message *)message);
    size_t len = aos_host_writer_end(&s->ahead);
    if (!len) {
        aos_host_writer_drop(&s->ahead);
        return AOS_ENOMEM;
    }
    uint32_t size = (uint32_t)(len - s->ahead.frame);
    s->unsent += 1;
    s->sizes[(s->oldest + s->outstanding) % AOS_HOST_PIPELINE_MAX] = size;
    s->outstanding += 1;
    s->in_flight += size;
    return s->outstanding >= AOS_HOST_PIPELINE_MAX || s->in_flight >= AOS_HOST_PIPELINE_BYTES ? 1 : 0;
}

int32_t aos_host_proxy_collect(void *ctx, void *state) {
    session *s = (session *)state;
    if (!s->outstanding) return AOS_EINTERNAL;
    uint32_t timeout_ms = answer_timeout(s);
    aos_status status = AOS_OK;
    if (serve_message(s, (aos_ctx *)ctx, &status, timeout_ms) != 0) {
        /* The oldest was running; the host never started the others: none is outstanding now. */
        s->outstanding = 0;
        s->oldest = 0;
        s->in_flight = 0;
        log_crash(s, (aos_ctx *)ctx, "in on_message");
        return AOS_ECRASHED;
    }
    s->in_flight -= s->sizes[s->oldest];
    s->oldest = (s->oldest + 1) % AOS_HOST_PIPELINE_MAX;
    s->outstanding -= 1;
    return status;
}

/* The old version's save at a hot reload. No host (it crashed and was not
 * restarted): AOS_ECRASHED, nothing saved. */
static aos_status proxy_save(aos_ctx *ctx, void *state, aos_buffer *out) {
    session *s = (session *)state;
    if (s->fd < 0) return AOS_ECRASHED;
    aos_host_writer_begin(&s->out, AOS_HOST_SAVE);
    aos_status status = AOS_OK;
    if (send_frame(s, answer_timeout(s)) < 0 || serve_save(s, ctx, &status, out, answer_timeout(s)) != 0) {
        log_crash(s, ctx, "in save");
        return AOS_ECRASHED;
    }
    return status;
}

/* The new version's restore, right after its init: the host is running. */
static aos_status proxy_restore(aos_ctx *ctx, void *state, aos_bytes saved) {
    session *s = (session *)state;
    aos_host_writer_begin(&s->out, AOS_HOST_RESTORE);
    aos_host_put_bytes(&s->out, saved.ptr, saved.len);
    aos_status status = AOS_OK;
    if (send_frame(s, answer_timeout(s)) < 0 || serve(s, ctx, &status, answer_timeout(s)) != 0) {
        log_crash(s, ctx, "in restore");
        return AOS_ECRASHED;
    }
    return status;
}

static void proxy_stop(aos_ctx *ctx, void *state) {
    session *s = (session *)state;
    if (!s) return;
    if (s->fd >= 0) {
        aos_host_writer_begin(&s->out, AOS_HOST_STOP);
        aos_status status = AOS_OK;
        if (send_frame(s, answer_timeout(s)) >= 0 && serve(s, ctx, &status, answer_timeout(s)) == 0) {
            char how[128];
            end_host(s, 0, how, sizeof how);
        }
        /* else serve recorded the crash and ended the host */
    }
    free(s->out.data);
    free(s->ahead.data);
    free(s->in.data);
    free(s->config);
    free(s);
}

void aos_host_proxy_install(void *descriptor) {
    aos_plugin_descriptor *d = (aos_plugin_descriptor *)descriptor;
    d->init = proxy_init;
    d->on_message = proxy_on_message;
    d->stop = proxy_stop;
    /* The handoff callbacks only where the plugin has them, so that the
     * kernel hands state over exactly when it would in thread mode. */
    d->save = AOS_HOST_DESCRIPTOR_HAS(d, save) ? proxy_save : NULL;
    d->restore = AOS_HOST_DESCRIPTOR_HAS(d, restore) ? proxy_restore : NULL;
}
