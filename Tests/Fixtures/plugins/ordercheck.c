/*
 * ordercheck.c — checks per-sender FIFO order of the messages it receives.
 *
 *   plain "SENDER SEQ"   SEQ (decimal) must be the last SEQ from SENDER + 1,
 *                        starting at 1; anything else counts as a violation
 *                        (a message reordered, duplicated or lost)
 *   request "report"     answered with {"received":N,"violations":V}
 *
 * Any other body fails the message with AOS_EINVAL (a plain one that is
 * malformed still counts as received and as a violation, so a test sees it).
 * At most MAX_SENDERS distinct senders are tracked; more fail with AOS_ENOMEM.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

#define MAX_SENDERS 64u
#define MAX_NAME    63u

/* The last sequence number seen from one sender. */
typedef struct ordercheck_sender {
    char name[MAX_NAME + 1];
    uint64_t last;
} ordercheck_sender;

/* Per-instance state. */
typedef struct ordercheck_state {
    const aos_kernel_api *api;
    uint64_t received;
    uint64_t violations;
    size_t senders;
    ordercheck_sender sender[MAX_SENDERS];
} ordercheck_state;

static aos_status ordercheck_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                                  void **state) {
    (void)ctx;
    (void)config;
    ordercheck_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return AOS_ENOMEM;
    s->api = api;
    *state = s;
    return AOS_OK;
}

/* The entry of sender `name` (`len` bytes), added when new; NULL when full. */
static ordercheck_sender *ordercheck_find(ordercheck_state *s, const uint8_t *name, size_t len) {
    for (size_t i = 0; i < s->senders; i++) {
        if (strlen(s->sender[i].name) == len && memcmp(s->sender[i].name, name, len) == 0)
            return &s->sender[i];
    }
    if (s->senders == MAX_SENDERS)
        return NULL;
    ordercheck_sender *entry = &s->sender[s->senders++];
    memcpy(entry->name, name, len);
    entry->name[len] = '\0';
    entry->last = 0;
    return entry;
}

/* Records one "SENDER SEQ" body. */
static aos_status ordercheck_record(ordercheck_state *s, aos_bytes body) {
    const uint8_t *space = body.len > 0 ? memchr(body.ptr, ' ', body.len) : NULL;
    uint64_t seq;

    s->received++;
    if (space == NULL || space == body.ptr || (size_t)(space - body.ptr) > MAX_NAME ||
        !fixture_parse_u64(space + 1, body.len - (size_t)(space + 1 - body.ptr), &seq)) {
        s->violations++;
        return AOS_EINVAL;
    }
    ordercheck_sender *sender = ordercheck_find(s, body.ptr, (size_t)(space - body.ptr));
    if (sender == NULL)
        return AOS_ENOMEM;
    if (seq != sender->last + 1)
        s->violations++;
    sender->last = seq;
    return AOS_OK;
}

static aos_status ordercheck_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    ordercheck_state *s = state;

    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return ordercheck_record(s, msg->body);
    if (msg->body.len != 6 || memcmp(msg->body.ptr, "report", 6) != 0)
        return AOS_EINVAL;

    char report[96];
    snprintf(report, sizeof report, "{\"received\":%" PRIu64 ",\"violations\":%" PRIu64 "}",
             s->received, s->violations);
    return fixture_reply(ctx, s->api, msg, report);
}

static void ordercheck_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    free(state);
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "ordercheck",
    .version = "0",
    .description = "Test fixture: counts per-sender FIFO violations of \"SENDER SEQ\" messages.",
    .capabilities = NULL,
    .init = ordercheck_init,
    .on_message = ordercheck_on_message,
    .stop = ordercheck_stop,
};
