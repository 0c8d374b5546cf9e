/*
 * queue.c — baseline for one-way message throughput into one mailbox.
 *
 *   queue [N [SIZE [CAP]]]   defaults: N 2000000, SIZE 16, CAP 1024
 *
 * One producer, one consumer, one mailbox of CAP messages (bqueue.h): the
 * producer appends a malloc'd copy of a SIZE-byte message N times, waiting
 * while the mailbox is full; the consumer pops and frees each. Timed until
 * the consumer has freed the last one. Prints one line of JSON:
 * {"bench":"queue","n":..,"size":..,"cap":..,"total_ns":..,"per_second":..}.
 */
#define _POSIX_C_SOURCE 200809L

#include "baseline.h"
#include "bqueue.h"

#define USAGE "queue [N [SIZE [CAP]]]"

static _Noreturn void oom(void) {
    fprintf(stderr, "queue: out of memory\n");
    exit(1);
}

/* The consumer: frees messages until the NULL message. */
static void *consumer(void *arg) {
    bqueue *q = arg;
    message *m;

    while ((m = bq_pop(q)) != NULL)
        free(m);
    return NULL;
}

int main(int argc, char **argv) {
    uint64_t n = arg_u64(argc, argv, 1, 2000000, 1, UINT32_MAX, USAGE);
    size_t size = (size_t)arg_u64(argc, argv, 2, 16, 0, 1u << 30, USAGE);
    size_t cap = (size_t)arg_u64(argc, argv, 3, 1024, 1, 1u << 24, USAGE);

    bqueue q;
    unsigned char *payload = malloc(size + 1);
    if (payload == NULL || bq_init(&q, cap) != 0)
        oom();
    memset(payload, 'x', size);

    pthread_t thread;
    uint64_t start = now_ns();
    if (pthread_create(&thread, NULL, consumer, &q) != 0) {
        fprintf(stderr, "queue: cannot start a thread\n");
        return 1;
    }
    for (uint64_t i = 0; i < n; i++) {
        message *m = message_new(payload, size);
        if (m == NULL)
            oom();
        bq_push(&q, m);
    }
    bq_push(&q, NULL);
    pthread_join(thread, NULL);
    uint64_t total = now_ns() - start;

    bq_destroy(&q);
    free(payload);

    printf("{\"bench\":\"queue\",\"n\":%" PRIu64 ",\"size\":%zu,\"cap\":%zu,\"total_ns\":%" PRIu64
           ",\"per_second\":%.0f}\n",
           n, size, cap, total, (double)n * 1e9 / (double)total);
    return 0;
}
