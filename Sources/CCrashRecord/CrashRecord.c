/*
 * The crash record a thread-mode crash leaves in $AGENTOS_HOME/crash/ (see
 * include/crash_record.h for the contract and the format).
 *
 * Async-signal-safety. aos_crash_write runs in a fatal-signal handler, so it
 * formats by hand into a static buffer and touches the system only with
 * clock_gettime, getpid, open, write, fsync, close and rename, all
 * async-signal-safe. Two calls are not formally so:
 *
 *  - dladdr, to name the faulting function and the library it is in. glibc's
 *    dladdr allocates nothing; it takes the dynamic loader's recursive lock,
 *    which is re-entrant for a thread that faulted while holding it (inside
 *    dlopen) and is otherwise held only briefly by other, still running,
 *    threads. The process is dying of its fault either way: the worst case is
 *    a record that waits for that lock, never a wrong one.
 *  - backtrace, to find the innermost frame in a plugin (an abort() is raised
 *    in libc, called from the plugin). Its first call loads libgcc_s, which is
 *    why aos_crash_configure calls it once first; after that it reads the
 *    stack and the unwind tables (dl_iterate_phdr: the same lock as dladdr).
 *
 * The thread → instance map is a thread-local copy of the instance's name, set
 * by the instance's thread itself: reading it needs no lock and no lookup, and
 * nothing it points to can be freed under the handler. The plugin libraries
 * are a fixed table of {load base, source file, SHA-256}: a writer fills a
 * slot under a mutex and publishes its base last; the handler reads bases
 * with acquire loads and takes no lock.
 */
#define _GNU_SOURCE
#include "crash_record.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define SOURCE_MAX 1024
#define RECORD_MAX 16384
#define FRAMES_MAX 64

static char directory[PATH_MAX];
static atomic_bool configured;

static _Thread_local char thread_instance[AOS_CRASH_NAME_MAX];

struct library {
    _Atomic uintptr_t base; /* 0: a free slot */
    char source[SOURCE_MAX];
    char sha256[65];
};
static struct library libraries[AOS_CRASH_LIBRARIES_MAX];
static pthread_mutex_t libraries_lock = PTHREAD_MUTEX_INITIALIZER;

/* What the handler builds; only the first crashing thread uses them. */
static char record[RECORD_MAX];
static size_t record_length;
static char record_path[PATH_MAX];
static char temporary_path[PATH_MAX];
static void *frames[FRAMES_MAX];

int aos_crash_configure(const char *path) {
    size_t length = strlen(path);
    if (length + 64 >= sizeof directory)
        return -1;
    memcpy(directory, path, length + 1);
    void *warm[2];
    (void)backtrace(warm, 2);
    Dl_info info;
    (void)dladdr((void *)&aos_crash_configure, &info);
    atomic_store_explicit(&configured, true, memory_order_release);
    return 0;
}

void aos_crash_thread_begin(const char *name) {
    size_t length = strnlen(name, AOS_CRASH_NAME_MAX - 1);
    memcpy(thread_instance, name, length);
    thread_instance[length] = '\0';
}

void aos_crash_thread_end(void) { thread_instance[0] = '\0'; }

static uintptr_t base_of(const void *address) {
    Dl_info info;
    if (dladdr(address, &info) == 0)
        return 0;
    return (uintptr_t)info.dli_fbase;
}

void aos_crash_register_library(const void *symbol, const char *source, const char *sha256) {
    uintptr_t base = base_of(symbol);
    if (base == 0)
        return;
    pthread_mutex_lock(&libraries_lock);
    for (int i = 0; i < AOS_CRASH_LIBRARIES_MAX; i++) {
        struct library *slot = &libraries[i];
        if (atomic_load_explicit(&slot->base, memory_order_relaxed) != 0)
            continue;
        size_t length = strnlen(source, SOURCE_MAX - 1);
        memcpy(slot->source, source, length);
        slot->source[length] = '\0';
        size_t hash_length = strnlen(sha256, 64);
        memcpy(slot->sha256, sha256, hash_length);
        slot->sha256[hash_length] = '\0';
        atomic_store_explicit(&slot->base, base, memory_order_release);
        break;
    }
    pthread_mutex_unlock(&libraries_lock);
}

void aos_crash_unregister_library(const void *symbol) {
    uintptr_t base = base_of(symbol);
    if (base == 0)
        return;
    pthread_mutex_lock(&libraries_lock);
    for (int i = 0; i < AOS_CRASH_LIBRARIES_MAX; i++) {
        if (atomic_load_explicit(&libraries[i].base, memory_order_relaxed) == base) {
            atomic_store_explicit(&libraries[i].base, 0, memory_order_release);
            break;
        }
    }
    pthread_mutex_unlock(&libraries_lock);
}

/* MARK: formatting (no allocation, no locale, no stdio) */

static void put_bytes(const char *bytes, size_t length) {
    if (length > RECORD_MAX - record_length)
        length = RECORD_MAX - record_length;
    memcpy(record + record_length, bytes, length);
    record_length += length;
}

static void put(const char *text) { put_bytes(text, strlen(text)); }

/* `text` with bytes below 0x20, 0x7f and '\' as \xHH, at most `limit` bytes of it. */
static void put_escaped(const char *text, size_t limit) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < limit && text[i] != '\0'; i++) {
        unsigned char byte = (unsigned char)text[i];
        if (byte < 0x20 || byte == 0x7f || byte == '\\') {
            char escaped[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
            put_bytes(escaped, 4);
        } else {
            put_bytes((const char *)&byte, 1);
        }
    }
}

static void put_decimal(uint64_t value) {
    char digits[20];
    int used = 0;
    do {
        digits[sizeof digits - 1 - used++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    put_bytes(digits + sizeof digits - used, (size_t)used);
}

static void put_hex(uint64_t value) {
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    int used = 0;
    do {
        digits[sizeof digits - 1 - used++] = hex[value & 15];
        value >>= 4;
    } while (value > 0);
    put("0x");
    put_bytes(digits + sizeof digits - used, (size_t)used);
}

static void put_line(const char *key, const char *value) {
    put(key);
    put(" ");
    put_escaped(value, SOURCE_MAX);
    put("\n");
}

static void put_hex_line(const char *key, uint64_t value) {
    put(key);
    put(" ");
    put_hex(value);
    put("\n");
}

static const char *signal_name(int signal) {
    switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    default: return "signal";
    }
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static const struct library *library_at(uintptr_t base) {
    if (base == 0)
        return NULL;
    for (int i = 0; i < AOS_CRASH_LIBRARIES_MAX; i++) {
        if (atomic_load_explicit(&libraries[i].base, memory_order_acquire) == base)
            return &libraries[i];
    }
    return NULL;
}

static uintptr_t program_counter(const void *ucontext) {
    if (ucontext == NULL)
        return 0;
    const ucontext_t *context = ucontext;
#if defined(__x86_64__)
    return (uintptr_t)context->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)context->uc_mcontext.pc;
#else
    (void)context;
    return 0;
#endif
}

/* "<prefix>_symbol", "<prefix>_offset" … of `address` (as dladdr sees it). */
static void put_location(const char *symbol_key, const char *offset_key, const Dl_info *info, uintptr_t address) {
    if (info->dli_sname != NULL && info->dli_saddr != NULL) {
        put_line(symbol_key, info->dli_sname);
        put_hex_line(offset_key, address - (uintptr_t)info->dli_saddr);
    }
}

/* The innermost frame in a registered plugin: the PC, else the first return
 * address in one (less one byte, so a call that ends its function, like a
 * noreturn abort(), is looked up in its caller). */
static void put_plugin_frame(uintptr_t pc) {
    int count = backtrace(frames, FRAMES_MAX);
    for (int i = -1; i < count; i++) {
        uintptr_t address = i < 0 ? pc : (uintptr_t)frames[i] - 1;
        if (address == 0 || address == (uintptr_t)-1)
            continue;
        Dl_info info;
        if (dladdr((void *)address, &info) == 0)
            continue;
        const struct library *library = library_at((uintptr_t)info.dli_fbase);
        if (library == NULL)
            continue;
        put_line("plugin", library->source);
        put_line("plugin_sha256", library->sha256);
        put_line("plugin_object", base_name(library->source));
        put_hex_line("plugin_offset", address - (uintptr_t)info.dli_fbase);
        put_location("plugin_symbol", "plugin_symbol_offset", &info, address);
        return;
    }
}

static int write_all(int file, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t written = write(file, bytes, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

/* `directory`/<prefix><ms>-<pid><suffix> into `path` (PATH_MAX bytes;
 * aos_crash_configure left 64 bytes for the rest). */
static void make_path(char *path, const char *prefix, uint64_t ms, uint64_t pid, const char *suffix) {
    size_t length = 0;
    const char *parts[3] = {directory, "/", prefix};
    for (int i = 0; i < 3; i++) {
        size_t part = strlen(parts[i]);
        memcpy(path + length, parts[i], part);
        length += part;
    }
    uint64_t numbers[2] = {ms, pid};
    for (int i = 0; i < 2; i++) {
        char digits[20];
        int used = 0;
        uint64_t value = numbers[i];
        do {
            digits[sizeof digits - 1 - used++] = (char)('0' + value % 10);
            value /= 10;
        } while (value > 0);
        memcpy(path + length, digits + sizeof digits - used, (size_t)used);
        length += (size_t)used;
        if (i == 0)
            path[length++] = '-';
    }
    size_t tail = strlen(suffix);
    memcpy(path + length, suffix, tail + 1);
}

const char *aos_crash_write(int signal, const siginfo_t *info, const void *ucontext, const char *thread_name, const char *tool) {
    if (!atomic_load_explicit(&configured, memory_order_acquire))
        return NULL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    uint64_t pid = (uint64_t)getpid();
    uintptr_t pc = program_counter(ucontext);

    record_length = 0;
    put("agentos-crash 1\n");
    put("time_ms ");
    put_decimal(ms);
    put("\npid ");
    put_decimal(pid);
    put("\n");
    put_line("signal", signal_name(signal));
    put("signal_number ");
    put_decimal((uint64_t)signal);
    put("\n");
    if (info != NULL) {
        put("si_code ");
        if (info->si_code < 0) {
            put("-");
            put_decimal((uint64_t)(-(int64_t)info->si_code));
        } else {
            put_decimal((uint64_t)info->si_code);
        }
        put("\n");
        if (signal == SIGSEGV || signal == SIGBUS || signal == SIGILL || signal == SIGFPE)
            put_hex_line("fault_address", (uintptr_t)info->si_addr);
    }
    if (thread_name != NULL && thread_name[0] != '\0')
        put_line("thread", thread_name);
    if (thread_instance[0] != '\0')
        put_line("instance", thread_instance);
    if (tool != NULL)
        put_line("tool", tool);
    if (pc != 0) {
        put_hex_line("pc", pc);
        Dl_info where;
        if (dladdr((void *)pc, &where) != 0) {
            if (where.dli_fname != NULL)
                put_line("pc_object", where.dli_fname);
            put_hex_line("pc_object_offset", pc - (uintptr_t)where.dli_fbase);
            put_location("pc_symbol", "pc_symbol_offset", &where, pc);
        }
    }
    put_plugin_frame(pc);
    put("end\n");
    if (record_length >= RECORD_MAX)
        return NULL; /* cut short: no "end", so never mistaken for a whole record */

    make_path(temporary_path, ".crash-", ms, pid, ".tmp");
    make_path(record_path, "crash-", ms, pid, ".txt");
    int file = open(temporary_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (file < 0)
        return NULL;
    int failed = write_all(file, record, record_length);
    fsync(file);
    close(file);
    if (failed != 0 || rename(temporary_path, record_path) != 0) {
        unlink(temporary_path);
        return NULL;
    }
    return record_path;
}
