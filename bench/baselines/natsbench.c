/*
 * natsbench.c — baselines for the cluster rows: bare libnats through a nats-server.
 *
 *   natsbench reqrep URL [N [SIZE]]   N request/reply round trips (defaults 20000, 16)
 *   natsbench pubsub URL [N [SIZE]]   N one-way messages, publisher → subscriber (defaults 200000, 16)
 *
 * Two connections, as two kernels have: one answers (reqrep: publishes a
 * copy of each request's body to its reply subject) or counts (pubsub), the
 * other sends. pubsub ends when the subscriber has received all N. Prints
 * one line of JSON: {"bench":..,"n":..,"size":..,"total_ns":..,"per_op_ns":..,
 * "per_second":..}.
 */
#define _POSIX_C_SOURCE 200809L

#include <nats/nats.h>
#include <pthread.h>
#include <string.h>

#include "baseline.h"

#define USAGE "natsbench reqrep|pubsub URL [N [SIZE]]"

static void check(natsStatus status, const char *what) {
    if (status != NATS_OK) {
        fprintf(stderr, "natsbench: %s: %s\n", what, natsStatus_GetText(status));
        exit(1);
    }
}

/* reqrep's responder: a copy of the body back to the reply subject. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub;
    (void)closure;
    natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

/* pubsub's subscriber: counts, and signals when all have arrived. */
typedef struct counter {
    pthread_mutex_t lock;
    pthread_cond_t done;
    uint64_t received, expected;
} counter;

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    counter *c = closure;
    natsMsg_Destroy(msg);
    pthread_mutex_lock(&c->lock);
    if (++c->received == c->expected)
        pthread_cond_signal(&c->done);
    pthread_mutex_unlock(&c->lock);
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "reqrep") != 0 && strcmp(argv[1], "pubsub") != 0)) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    const int reqrep = strcmp(argv[1], "reqrep") == 0;
    const char *url = argv[2];
    uint64_t n = arg_u64(argc, argv, 3, reqrep ? 20000 : 200000, 1, 100000000, USAGE);
    uint64_t size = arg_u64(argc, argv, 4, 16, 0, 1 << 20, USAGE);

    natsConnection *server = NULL, *client = NULL;
    natsSubscription *sub = NULL;
    /* As the kernel's link connects: each publish is written at once (SendAsap),
     * not left to libnats' flusher thread, which costs a round trip milliseconds. */
    natsOptions *options = NULL;
    check(natsOptions_Create(&options), "options");
    check(natsOptions_SetURL(options, url), "url");
    check(natsOptions_SetSendAsap(options, true), "send asap");
    check(natsConnection_Connect(&server, options), "connect");
    check(natsConnection_Connect(&client, options), "connect");
    natsOptions_Destroy(options);
    char *body = malloc(size + 1);
    memset(body, 'x', size);

    counter c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, n};
    if (reqrep) {
        check(natsConnection_Subscribe(&sub, server, "natsbench.echo", on_request, NULL), "subscribe");
    } else {
        check(natsConnection_Subscribe(&sub, server, "natsbench.count", on_message, &c), "subscribe");
        check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits");
    }
    check(natsConnection_Flush(server), "flush");

    uint64_t start = now_ns();
    if (reqrep) {
        for (uint64_t i = 0; i < n; i++) {
            natsMsg *reply = NULL;
            check(natsConnection_Request(&reply, client, "natsbench.echo", body, (int)size, 10000), "request");
            natsMsg_Destroy(reply);
        }
    } else {
        for (uint64_t i = 0; i < n; i++)
            check(natsConnection_Publish(client, "natsbench.count", body, (int)size), "publish");
        check(natsConnection_Flush(client), "flush");
        pthread_mutex_lock(&c.lock);
        while (c.received < c.expected)
            pthread_cond_wait(&c.done, &c.lock);
        pthread_mutex_unlock(&c.lock);
    }
    uint64_t total = now_ns() - start;

    printf("{\"bench\":\"natsbench %s\",\"n\":%" PRIu64 ",\"size\":%" PRIu64 ",\"total_ns\":%" PRIu64
           ",\"per_op_ns\":%.1f,\"per_second\":%.1f}\n",
           argv[1], n, size, total, (double)total / (double)n, (double)n * 1e9 / (double)total);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(client);
    natsConnection_Destroy(server);
    free(body);
    nats_Close();
    return 0;
}
