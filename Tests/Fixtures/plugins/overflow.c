/*
 * overflow — an agent whose handler recurses without end on the message
 * "overflow", as a plugin with a runaway recursion would: its thread runs
 * off the end of its stack (SIGSEGV on the guard page).
 *
 * A signal handler needs a stack to run on: without an alternate signal
 * stack on the instance's thread the kernel dies without naming it.
 * Any other message is echoed back, so a test can see it running first.
 */
#include "fixture.h"

/* Recurses `depth` times through a frame the compiler cannot drop. */
static int __attribute__((noinline)) descend(volatile char *previous, unsigned long depth) {
    volatile char frame[256];
    frame[0] = previous ? previous[0] : 1;
    if (depth == 0)
        return frame[0];
    return descend(frame, depth - 1) + frame[255];
}

static aos_status overflow_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    if (msg->body.len == 8 && memcmp(msg->body.ptr, "overflow", 8) == 0)
        return descend(NULL, ~0ul) == 0 ? AOS_OK : AOS_EINVAL;
    return fixture_echo(ctx, state, msg);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "overflow",
    .version = "0",
    .description = "Test fixture: overflows its thread's stack on the message \"overflow\".",
    .init = fixture_init,
    .on_message = overflow_on_message,
};
