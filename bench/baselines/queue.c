/*
 * queue.c — baseline for one-way message throughput into one mailbox.
 *
 *   queue [N [SIZE [CAP [PRODUCERS]]]]   defaults: N 2000000, SIZE 16, CAP 1024, PRODUCERS 1
 *
 * PRODUCERS producers, one consumer, one mailbox of CAP messages (bqueue.h):
 * each producer appends a malloc'd copy of a SIZE-byte message N/PRODUCERS
 * times, waiting while the mailbox is full; the consumer pops and frees each.
 * Timed until the consumer has freed the last one. Prints one line of JSON:
 * {"bench":"queue","n":..,"size":..,"cap":..,"producers":..,"total_ns":..,"per_second":..}.
 */
#define _POSIX_C_SOURCE 200809L

#include "baseline.h"
#include "bqueue.h"

#define USAGE "queue [N [SIZE [CAP [PRODUCERS]]]]"

static _Noreturn void oom(void) {
    fprintf(stderr, "queue: out of memory\n");
    exit(1);
}

/* The consumer: frees messages until one NULL message per producer came. */
static unsigned producer_count = 1;

static void *consumer(void *arg) {
    bqueue *q = arg;
    unsigned ended = 0;

    while (ended < producer_count) {
        message *m = bq_pop(q);
        if (m == NULL)
            ended++;
        free(m);
    }
    return NULL;
}

typedef struct producer_args {
    bqueue *q;
    const unsigned char *payload;
    size_t size;
    uint64_t n;
} producer_args;

/* A producer: n copies of the payload, then the NULL message. */
static void *producer(void *arg) {
    producer_args *p = arg;

    for (uint64_t i = 0; i < p->n; i++) {
        message *m = message_new(p->payload, p->size);
        if (m == NULL)
            oom();
        bq_push(p->q, m);
    }
    bq_push(p->q, NULL);
    return NULL;
}

int main(int argc, char **argv) {
    uint64_t n = arg_u64(argc, argv, 1, 2000000, 1, UINT32_MAX, USAGE);
    size_t size = (size_t)arg_u64(argc, argv, 2, 16, 0, 1u << 30, USAGE);
    size_t cap = (size_t)arg_u64(argc, argv, 3, 1024, 1, 1u << 24, USAGE);
    producer_count = (unsigned)arg_u64(argc, argv, 4, 1, 1, 64, USAGE);

    bqueue q;
    unsigned char *payload = malloc(size + 1);
    if (payload == NULL || bq_init(&q, cap) != 0)
        oom();
    memset(payload, 'x', size);

    pthread_t thread;
    pthread_t producers[64];
    producer_args args = {&q, payload, size, n / producer_count};
    uint64_t start = now_ns();
    if (pthread_create(&thread, NULL, consumer, &q) != 0) {
        fprintf(stderr, "queue: cannot start a thread\n");
        return 1;
    }
    for (unsigned i = 1; i < producer_count; i++) {
        if (pthread_create(&producers[i], NULL, producer, &args) != 0) {
            fprintf(stderr, "queue: cannot start a thread\n");
            return 1;
        }
    }
    producer(&args);
    for (unsigned i = 1; i < producer_count; i++)
        pthread_join(producers[i], NULL);
    pthread_join(thread, NULL);
    uint64_t total = now_ns() - start;
    n = args.n * producer_count;

    bq_destroy(&q);
    free(payload);

    printf("{\"bench\":\"queue\",\"n\":%" PRIu64 ",\"size\":%zu,\"cap\":%zu,\"producers\":%u,\"total_ns\":%" PRIu64
           ",\"per_second\":%.0f}\n",
           n, size, cap, producer_count, total, (double)n * 1e9 / (double)total);
    return 0;
}
