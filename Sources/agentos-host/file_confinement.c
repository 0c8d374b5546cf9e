/*
 * file_confinement.c — the host's Landlock ruleset (see file_confinement.h).
 */
#define _GNU_SOURCE
#include "file_confinement.h"

#include "include/host_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define READ_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Rights of Landlock ABI 3 (truncate) and 5 (ioctl on devices), by their
 * kernel values where the system's headers predate them: unhandled,
 * truncate(2) could empty a file the plugin cannot even open. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
/* The rights Landlock accepts on a file (the others are about directories). */
#define FILE_RIGHTS                                                                                                     \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |                        \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* Where the system keeps what a plugin's code and libraries read. Of /proc,
 * only the host's own process (through /proc/self, which names it as the
 * ruleset is built) and the machine-wide files: another process's entries
 * (the kernel's environ, maps) stay closed. */
static const char *const system_paths[] = {
    "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/opt", "/sys",
    "/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys", "/proc/filesystems",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
    "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf",
    "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates", "/etc/pki",
};

/* Devices every program may read and write. */
static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};

struct ruleset {
    int fd;
    uint64_t handled;
    uint64_t read;  /* what the read-only paths allow */
    uint64_t write; /* what the devices allow */
};

/* Allows `rights` beneath `path` (a directory) or on it (a file); a path
 * that does not exist is skipped. Returns 0, or -1 with errno. */
static int allow_path(const struct ruleset *set, const char *path, uint64_t rights) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) rights &= FILE_RIGHTS;
    struct landlock_path_beneath_attr beneath = {.allowed_access = rights & set->handled, .parent_fd = fd};
    long rc = syscall(SYS_landlock_add_rule, set->fd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc == 0 ? 0 : -1;
}

/* Allows reading each directory of a colon-separated `list`, skipping empty
 * entries and those with $ORIGIN or other loader tokens. */
static int allow_search_path(const struct ruleset *set, const char *list, size_t len) {
    char entry[4096];
    size_t start = 0;
    while (start <= len) {
        size_t end = start;
        while (end < len && list[end] != ':') end++;
        size_t n = end - start;
        if (n > 0 && n < sizeof entry && !memchr(list + start, '$', n)) {
            memcpy(entry, list + start, n);
            entry[n] = '\0';
            if (entry[0] == '/' && allow_path(set, entry, set->read) != 0) return -1;
        }
        start = end + 1;
    }
    return 0;
}

/* The file offset of virtual address `address` in the loadable segments, or 0. */
static size_t file_offset(const ElfW(Phdr) *headers, size_t count, uint64_t address) {
    for (size_t i = 0; i < count; i++) {
        const ElfW(Phdr) *h = &headers[i];
        if (h->p_type == PT_LOAD && address >= h->p_vaddr && address - h->p_vaddr < h->p_filesz)
            return (size_t)(h->p_offset + (address - h->p_vaddr));
    }
    return 0;
}

/* Allows reading the directories of `plugin`'s DT_RUNPATH or DT_RPATH: where
 * the loader looks for its libraries. Every offset is checked against the
 * file's size; a file that is not a well-formed ELF image adds nothing. */
static int allow_runpath(const struct ruleset *set, const char *plugin) {
    int fd = open(plugin, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
        close(fd);
        return 0;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *image = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (image == MAP_FAILED) return 0;
    int rc = 0;
    const ElfW(Ehdr) *elf = (const ElfW(Ehdr) *)image;
    size_t phdrs_end = (size_t)elf->e_phoff + (size_t)elf->e_phnum * sizeof(ElfW(Phdr));
    if (memcmp(elf->e_ident, ELFMAG, SELFMAG) == 0 && elf->e_phentsize == sizeof(ElfW(Phdr)) && phdrs_end <= size &&
        phdrs_end >= elf->e_phoff) {
        const ElfW(Phdr) *headers = (const ElfW(Phdr) *)(image + elf->e_phoff);
        for (size_t i = 0; i < elf->e_phnum; i++) {
            if (headers[i].p_type != PT_DYNAMIC || headers[i].p_offset > size || headers[i].p_filesz > size - headers[i].p_offset)
                continue;
            const ElfW(Dyn) *dynamic = (const ElfW(Dyn) *)(image + headers[i].p_offset);
            size_t entries = headers[i].p_filesz / sizeof(ElfW(Dyn));
            size_t strtab = 0, strsz = 0, path = 0;
            int has_path = 0;
            for (size_t d = 0; d < entries && dynamic[d].d_tag != DT_NULL; d++) {
                if (dynamic[d].d_tag == DT_STRTAB) strtab = file_offset(headers, elf->e_phnum, dynamic[d].d_un.d_ptr);
                if (dynamic[d].d_tag == DT_STRSZ) strsz = (size_t)dynamic[d].d_un.d_val;
                if (dynamic[d].d_tag == DT_RUNPATH || (dynamic[d].d_tag == DT_RPATH && !has_path)) {
                    path = (size_t)dynamic[d].d_un.d_val;
                    has_path = 1;
                }
            }
            if (!has_path || !strtab || strtab > size || strsz > size - strtab || path >= strsz) continue;
            const char *text = (const char *)image + strtab + path;
            const char *end = memchr(text, '\0', strsz - path);
            if (end && allow_search_path(set, text, (size_t)(end - text)) != 0) rc = -1;
        }
    }
    munmap((void *)image, size);
    return rc;
}

int aos_host_confine_files(const char *plugin, uint32_t allow, char *why, size_t why_cap) {
#ifndef SYS_landlock_create_ruleset
    snprintf(why, why_cap, "this host was built without Landlock's system calls");
    return 1;
#else
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) {
        snprintf(why, why_cap, "this Linux has no Landlock (%s)", strerror(errno));
        return 1;
    }
    struct ruleset set = {.handled = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1};
    if (abi >= 2) set.handled |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) set.handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) set.handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    set.read = READ_RIGHTS | ((allow & AOS_HOST_ALLOW_SPAWN) ? LANDLOCK_ACCESS_FS_EXECUTE : 0);
    set.write = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                LANDLOCK_ACCESS_FS_IOCTL_DEV;
    struct landlock_ruleset_attr attributes = {.handled_access_fs = set.handled};
    set.fd = (int)syscall(SYS_landlock_create_ruleset, &attributes, sizeof attributes, 0);
    if (set.fd < 0) {
        snprintf(why, why_cap, "cannot create a Landlock ruleset: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof system_paths / sizeof system_paths[0]; i++)
        rc = allow_path(&set, system_paths[i], set.read);
    for (size_t i = 0; rc == 0 && i < sizeof devices / sizeof devices[0]; i++)
        rc = allow_path(&set, devices[i], set.write);
    if (rc == 0) rc = allow_path(&set, plugin, LANDLOCK_ACCESS_FS_READ_FILE);
    if (rc == 0) rc = allow_runpath(&set, plugin);
    const char *library_path = getenv("LD_LIBRARY_PATH");
    if (rc == 0 && library_path) rc = allow_search_path(&set, library_path, strlen(library_path));
    if (rc != 0) {
        snprintf(why, why_cap, "cannot add a Landlock rule: %s", strerror(errno));
    } else if (syscall(SYS_landlock_restrict_self, set.fd, 0) != 0) {
        snprintf(why, why_cap, "cannot apply the Landlock ruleset: %s", strerror(errno));
        rc = -1;
    }
    close(set.fd);
    return rc;
#endif
}
