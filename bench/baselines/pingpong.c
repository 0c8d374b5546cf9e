/*
 * pingpong.c — baseline for a request/reply round trip between two agents.
 *
 *   pingpong [N [SIZE]]      defaults: N 100000, SIZE 16
 *
 * Two threads, each with its own mailbox (bqueue.h). Thread A sends a
 * SIZE-byte request to B's mailbox and waits for the reply in its own; B
 * answers each request with a copy of its body, as echo does. N times.
 * Prints one line of JSON: {"bench":"pingpong","n":..,"size":..,
 * "total_ns":..,"per_op_ns":..}, per_op_ns being one round trip.
 */
#define _POSIX_C_SOURCE 200809L

#include "baseline.h"
#include "bqueue.h"

#define USAGE "pingpong [N [SIZE]]"
#define MAILBOX_CAP 1024

typedef struct pair {
    bqueue to_a; /* A's mailbox: replies */
    bqueue to_b; /* B's mailbox: requests */
} pair;

static _Noreturn void oom(void) {
    fprintf(stderr, "pingpong: out of memory\n");
    exit(1);
}

/* Thread B: answers every request until the NULL message. */
static void *responder(void *arg) {
    pair *p = arg;
    message *request;

    while ((request = bq_pop(&p->to_b)) != NULL) {
        message *reply = message_new(request->data, request->len);
        if (reply == NULL)
            oom();
        bq_push(&p->to_a, reply);
        free(request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    uint64_t n = arg_u64(argc, argv, 1, 100000, 1, UINT32_MAX, USAGE);
    size_t size = (size_t)arg_u64(argc, argv, 2, 16, 0, 1u << 30, USAGE);

    pair p;
    unsigned char *payload = malloc(size + 1);
    if (payload == NULL || bq_init(&p.to_a, MAILBOX_CAP) != 0 ||
        bq_init(&p.to_b, MAILBOX_CAP) != 0)
        oom();
    memset(payload, 'x', size);

    pthread_t b;
    if (pthread_create(&b, NULL, responder, &p) != 0) {
        fprintf(stderr, "pingpong: cannot start a thread\n");
        return 1;
    }

    uint64_t start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        message *request = message_new(payload, size);
        if (request == NULL)
            oom();
        bq_push(&p.to_b, request);
        free(bq_pop(&p.to_a));
    }
    uint64_t total = now_ns() - start;

    bq_push(&p.to_b, NULL);
    pthread_join(b, NULL);
    bq_destroy(&p.to_b);
    bq_destroy(&p.to_a);
    free(payload);

    printf("{\"bench\":\"pingpong\",\"n\":%" PRIu64 ",\"size\":%zu,\"total_ns\":%" PRIu64
           ",\"per_op_ns\":%.1f}\n",
           n, size, total, (double)total / (double)n);
    return 0;
}
