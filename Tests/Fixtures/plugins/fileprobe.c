/*
 * fileprobe — an agent that tries to open files, for the process-mode
 * host's file confinement tests (load it with --isolation process). It
 * answers:
 *
 *   "read PATH"      open(PATH, O_RDONLY) and read a byte
 *   "write PATH"     open(PATH, O_WRONLY | O_CREAT)
 *   "truncate PATH"  truncate(PATH, 0)
 *                    each "allowed", or "refused: " and the error
 *   "landlock"       the Landlock ABI this Linux offers, or "unavailable"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fixture.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

/* The message's text after `verb` and a space, as a C string in `out`; false when it is not that verb. */
static bool argument(const aos_message *msg, const char *verb, char *out, size_t cap) {
    size_t len = strlen(verb);
    if (msg->body.len <= len + 1 || msg->body.len - len - 1 >= cap || memcmp(msg->body.ptr, verb, len) != 0 ||
        ((const char *)msg->body.ptr)[len] != ' ')
        return false;
    memcpy(out, (const char *)msg->body.ptr + len + 1, msg->body.len - len - 1);
    out[msg->body.len - len - 1] = '\0';
    return true;
}

/* 0 when `fd` is open (and closes it), else errno. */
static int opened(int fd) {
    if (fd < 0) return errno;
    close(fd);
    return 0;
}

/* 0 when `fd` is open and a byte can be read from it (and closes it), else errno. */
static int readable(int fd) {
    if (fd < 0) return errno;
    char byte;
    int error = read(fd, &byte, 1) < 0 ? errno : 0;
    close(fd);
    return error;
}

static aos_status answer(aos_ctx *ctx, void *state, const aos_message *msg, int error) {
    char text[128];
    snprintf(text, sizeof text, error ? "refused: %s" : "allowed", strerror(error));
    return fixture_reply(ctx, fixture_api(state), msg, text);
}

static aos_status fileprobe_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    char path[1024];
    if (argument(msg, "read", path, sizeof path))
        return answer(ctx, state, msg, readable(open(path, O_RDONLY | O_CLOEXEC)));
    if (argument(msg, "write", path, sizeof path))
        return answer(ctx, state, msg, opened(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)));
    if (argument(msg, "truncate", path, sizeof path))
        return answer(ctx, state, msg, truncate(path, 0) == 0 ? 0 : errno);
    if (msg->body.len == 8 && memcmp(msg->body.ptr, "landlock", 8) == 0) {
        long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1u);
        char text[32];
        if (abi < 1) snprintf(text, sizeof text, "unavailable");
        else snprintf(text, sizeof text, "%ld", abi);
        return fixture_reply(ctx, fixture_api(state), msg, text);
    }
    return fixture_echo(ctx, state, msg);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "fileprobe",
    .version = "0",
    .description = "Test fixture: tries to open, create and truncate the files it is told (process mode).",
    .init = fixture_init,
    .on_message = fileprobe_on_message,
};
