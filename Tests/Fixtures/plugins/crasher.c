/*
 * crasher — an agent that fails the way a buggy or hostile plugin does, for
 * process isolation's tests. It answers requests with their own body, except:
 *
 *   "segv"            dereferences NULL (in crasher_fault, so a crash names it)
 *   "segv-after PATH" waits until PATH exists, then dereferences NULL
 *                     (a test queues more messages first)
 *   "wait PATH"       waits until PATH exists, then returns (messages queue meanwhile)
 *   "tick TEXT"       logs "crasher: tick TEXT, message N since init" through the
 *                     kernel (a syscall per message), so a test can count
 *                     which messages ran, and how often, across restarts
 *   "abort"           abort() (in crasher_abort, so a crash record names it)
 *   "exit"            exit(0)
 *   "garbage [TYPE]"  writes a frame of an unknown type (0x7777, or the decimal
 *                     TYPE) on its host's channel (fd 3)
 *   "oversize"        writes a frame header claiming 1 GiB on the channel
 *   "forge-saved"     writes a SAVED frame (the answer to a SAVE the kernel
 *                     did not send) on the channel
 *   "forge-returns"   writes a count of 2^40 returns into its host's returns
 *                     page (found in /proc/self/maps), as if it had handled
 *                     messages the kernel never sent
 *   "count"           replies with the messages this instance handled since its init
 *   "socket", "fork", "exec", "thread", "kill-kernel"
 *                     tries what its host's syscall filter may refuse (an AF_INET
 *                     socket, fork(), execve of /bin/true in a child, a thread, a
 *                     signal 0 to the kernel, its parent) and replies "allowed" or
 *                     "refused: " and the error
 *   "spin"            loops forever without a syscall (burns CPU)
 *   "spew N"          writes N MiB to stdout, 64 KiB at a time, until a write
 *                     fails; replies "wrote BYTES" (what the writes took)
 *   "alloc N"         mallocs N bytes without touching them, frees them and
 *                     replies "ok", or "enomem" when the allocation fails
 *
 * With config "segv" it crashes in init. In thread mode these end the kernel
 * (the crash record tests do so on purpose); elsewhere load it with
 * --isolation process.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static unsigned handled;

/* Not static and not inlined: the host's dladdr names it in the crash record. */
__attribute__((noinline, visibility("default"))) void crasher_fault(volatile int *where) {
    *where = 42;
}

/* The same, for abort(): the crash record's innermost plugin frame. */
__attribute__((noinline, visibility("default"))) void crasher_abort(void) {
    abort();
}

static aos_status crasher_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **state) {
    handled = 0;
    if (strcmp(config, "segv") == 0)
        crasher_fault(NULL);
    return fixture_init(ctx, api, config, state);
}

static bool is(const aos_message *msg, const char *text) {
    size_t len = strlen(text);
    return msg->body.len == len && memcmp(msg->body.ptr, text, len) == 0;
}

static void write_channel(const void *bytes, size_t len) {
    if (write(3, bytes, len) != (ssize_t)len)
        abort();
}

/* Its host's returns page (HostChannel.h), or NULL when it is not mapped. */
static volatile uint64_t *returns_page(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return NULL;
    char line[512];
    unsigned long start = 0;
    while (fgets(line, sizeof line, maps))
        if (strstr(line, "agentos-host-returns") && sscanf(line, "%lx-", &start) == 1)
            break;
    fclose(maps);
    return (volatile uint64_t *)start;
}

static void *nothing(void *arg) {
    return arg;
}

/* Tries `what` the way a plugin reaching outside its process would: 0 when
 * it worked, else the errno the system refused it with. */
static int attempt(const aos_message *msg) {
    if (is(msg, "socket")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return errno;
        close(fd);
        return 0;
    }
    if (is(msg, "fork") || is(msg, "exec")) {
        pid_t child = fork();
        if (child < 0) return errno;
        if (child == 0) {
            if (is(msg, "exec")) execl("/bin/true", "true", (char *)NULL);
            _exit(is(msg, "exec") ? 126 : 0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EPERM;
    }
    if (is(msg, "thread")) {
        pthread_t thread;
        int rc = pthread_create(&thread, NULL, nothing, NULL);
        if (rc) return rc;
        pthread_join(thread, NULL);
        return 0;
    }
    return kill(getppid(), 0) == 0 ? 0 : errno; /* kill-kernel */
}

/* Copies the body after its first `skip` bytes into `out` (cap bytes, NUL-terminated). */
static void body_after(const aos_message *msg, size_t skip, char *out, size_t cap) {
    size_t len = msg->body.len - skip < cap - 1 ? msg->body.len - skip : cap - 1;
    memcpy(out, msg->body.ptr + skip, len);
    out[len] = '\0';
}

static void wait_for(const char *path) {
    struct timespec tick = {0, 5 * 1000 * 1000};
    while (access(path, F_OK) != 0)
        nanosleep(&tick, NULL);
}

static aos_status crasher_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    handled++;
    if (is(msg, "segv"))
        crasher_fault(NULL);
    if (msg->body.len > 11 && memcmp(msg->body.ptr, "segv-after ", 11) == 0) {
        char path[512];
        body_after(msg, 11, path, sizeof path);
        wait_for(path);
        crasher_fault(NULL);
    }
    if (msg->body.len > 5 && memcmp(msg->body.ptr, "wait ", 5) == 0) {
        char path[512];
        body_after(msg, 5, path, sizeof path);
        wait_for(path);
        return fixture_reply(ctx, fixture_api(state), msg, "waited");
    }
    if (msg->body.len > 5 && memcmp(msg->body.ptr, "tick ", 5) == 0) {
        char text[64], line[128];
        body_after(msg, 5, text, sizeof text);
        snprintf(line, sizeof line, "crasher: tick %s, message %u since init", text, handled);
        return fixture_api(state)->log(ctx, AOS_LOG_INFO, line);
    }
    if (is(msg, "abort"))
        crasher_abort();
    if (is(msg, "exit"))
        exit(0);
    if (msg->body.len >= 7 && msg->body.len < 32 && memcmp(msg->body.ptr, "garbage", 7) == 0) {
        char digits[32];
        memcpy(digits, msg->body.ptr + 7, msg->body.len - 7);
        digits[msg->body.len - 7] = '\0';
        uint32_t type = msg->body.len > 7 ? (uint32_t)strtoul(digits, NULL, 10) : 0x7777;
        uint32_t frame[4] = {8, type, 1, 2}; /* length 8, an unknown type, 8 bytes */
        write_channel(frame, sizeof frame);
        pause();
    }
    if (is(msg, "oversize")) {
        uint32_t header[2] = {1u << 30, 16}; /* a SYSCALL of 1 GiB */
        write_channel(header, sizeof header);
        pause();
    }
    if (is(msg, "forge-saved")) {
        uint32_t frame[4] = {8, 20, 0, 0}; /* length 8, SAVED: status AOS_OK, no bytes */
        write_channel(frame, sizeof frame);
        pause();
    }
    if (is(msg, "forge-returns")) {
        volatile uint64_t *page = returns_page();
        if (!page)
            abort();
        *page = 1ull << 40; /* the count of returns comes first */
        pause();
    }
    if (is(msg, "spin"))
        for (volatile unsigned long i = 0;; i++) {
        }
    if (msg->body.len > 6 && msg->body.len < 32 && memcmp(msg->body.ptr, "alloc ", 6) == 0) {
        char digits[32];
        memcpy(digits, msg->body.ptr + 6, msg->body.len - 6);
        digits[msg->body.len - 6] = '\0';
        void *block = malloc((size_t)strtoull(digits, NULL, 10));
        free(block);
        return fixture_reply(ctx, fixture_api(state), msg, block ? "ok" : "enomem");
    }
    if (msg->body.len > 5 && msg->body.len < 32 && memcmp(msg->body.ptr, "spew ", 5) == 0) {
        char digits[32];
        memcpy(digits, msg->body.ptr + 5, msg->body.len - 5);
        digits[msg->body.len - 5] = '\0';
        static char chunk[64 * 1024];
        memset(chunk, 'x', sizeof chunk);
        unsigned long long wanted = strtoull(digits, NULL, 10) << 20, wrote = 0;
        while (wrote < wanted) {
            ssize_t n = write(1, chunk, sizeof chunk);
            if (n <= 0)
                break;
            wrote += (unsigned long long)n;
        }
        char text[48];
        snprintf(text, sizeof text, "wrote %llu", wrote);
        return fixture_reply(ctx, fixture_api(state), msg, text);
    }
    if (is(msg, "socket") || is(msg, "fork") || is(msg, "exec") || is(msg, "thread") || is(msg, "kill-kernel")) {
        int error = attempt(msg);
        char text[96];
        snprintf(text, sizeof text, error ? "refused: %s" : "allowed", strerror(error));
        return fixture_reply(ctx, fixture_api(state), msg, text);
    }
    if (is(msg, "count")) {
        char text[32];
        snprintf(text, sizeof text, "%u", handled);
        return fixture_reply(ctx, fixture_api(state), msg, text);
    }
    return fixture_echo(ctx, state, msg);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "crasher",
    .version = "0",
    .description = "Test fixture: segfaults, aborts, exits or garbles its host channel on command (process mode only).",
    .init = crasher_init,
    .on_message = crasher_on_message,
};
