/*
 * bqueue.h — a bounded FIFO of messages: one mutex, two condition variables.
 *
 * The shape of a kernel mailbox, for the baselines to measure: a sender
 * copies its message into a malloc'd block and appends it, waiting while the
 * queue is full; the receiver pops it, waiting while it is empty, and frees
 * it. A side signals the other only when the other may be waiting.
 */
#ifndef BQUEUE_H
#define BQUEUE_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A message: its length and bytes in one allocation. */
typedef struct message {
    size_t len;
    unsigned char data[];
} message;

typedef struct bqueue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    message **slots; /* a ring of `cap` slots */
    size_t cap;
    size_t head;     /* index of the oldest message */
    size_t count;
    unsigned poppers; /* threads waiting in bq_pop */
    unsigned pushers; /* threads waiting in bq_push */
} bqueue;

/* A malloc'd copy of `len` bytes at `data`; NULL when out of memory. */
static inline message *message_new(const void *data, size_t len) {
    message *m = malloc(sizeof *m + len);
    if (m != NULL) {
        m->len = len;
        memcpy(m->data, data, len);
    }
    return m;
}

/* Returns 0, or -1 when out of memory. */
static inline int bq_init(bqueue *q, size_t cap) {
    *q = (bqueue){.cap = cap};
    q->slots = malloc(cap * sizeof *q->slots);
    if (q->slots == NULL)
        return -1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

static inline void bq_destroy(bqueue *q) {
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
    free(q->slots);
}

/* Appends `m` (NULL is a valid message: "stop"), waiting while full. */
static inline void bq_push(bqueue *q, message *m) {
    pthread_mutex_lock(&q->lock);
    while (q->count == q->cap) {
        q->pushers++;
        pthread_cond_wait(&q->not_full, &q->lock);
        q->pushers--;
    }
    size_t tail = q->head + q->count;
    q->slots[tail < q->cap ? tail : tail - q->cap] = m;
    q->count++;
    if (q->poppers > 0)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* Removes and returns the oldest message, waiting while empty. */
static inline message *bq_pop(bqueue *q) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0) {
        q->poppers++;
        pthread_cond_wait(&q->not_empty, &q->lock);
        q->poppers--;
    }
    message *m = q->slots[q->head];
    q->head = q->head + 1 < q->cap ? q->head + 1 : 0;
    q->count--;
    if (q->pushers > 0)
        pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return m;
}

#endif /* BQUEUE_H */
