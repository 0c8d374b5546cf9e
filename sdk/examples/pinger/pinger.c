/*
 * pinger.c — measures the kernel's messaging from inside a plugin.
 *
 * A message whose body is a command runs one measurement. A request gets the
 * result back as one JSON object; every run is summed up in one INFO line.
 *
 *   ping N [TARGET] [SIZE]   N api->call round trips, each timed
 *   flood N [TARGET] [SIZE]  N api->send, then one api->call so that the
 *                            target has processed them all (per-sender FIFO)
 *
 * TARGET defaults to the config's "target=NAME", else "echo"; SIZE is the
 * body size in bytes, 16 by default. Latency statistics cover the successful
 * round trips. A run stops early at an error that means the target is stuck
 * or going away (AOS_ETIMEDOUT, AOS_EFULL, AOS_ESTOPPING), rather than
 * waiting out the timeout N times; "ok" + "errors" < "count" then shows it.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"
#include "json.h"

#define PING_TIMEOUT_MS  5000u
#define FLOOD_TIMEOUT_MS 10000u     /* a full mailbox makes send wait: back-pressure */
#define MAX_COUNT        10000000u
#define DEFAULT_SIZE     16u
#define MAX_SIZE         (16u << 20) /* beyond any sane kernel message limit */
#define MAX_NAME         63u
#define FLUSH_BODY       "flush"    /* the body of flood's final call */

/* These two bound the strings quoted in a result, so that even escaped
 * (6 bytes per byte at worst) it fits the 4096 bytes of a json. */
#define MAX_COMMAND      256u /* longest command body accepted */
#define MAX_QUOTED_REPLY 256u /* bytes of the final call's reply quoted in target_reply */
#define USAGE            "usage: ping N [TARGET] [SIZE] | flood N [TARGET] [SIZE]"

/* Per-instance state. */
typedef struct pinger_state {
    const aos_kernel_api *api;
    char target[MAX_NAME + 1]; /* the default TARGET */
} pinger_state;

/* A parsed command; `target` points into the caller's text buffer. */
typedef struct command {
    bool flood; /* flood, else ping */
    uint64_t count;
    const char *target;
    size_t size;
} command;

/* The outcome of a run's calls or sends. */
typedef struct tally {
    uint64_t ok;
    uint64_t errors;
    aos_status first_error; /* AOS_OK while errors == 0 */
} tally;

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

/* Parses `text` as a decimal uint64_t: digits only, no sign, no overflow. */
static bool parse_u64(const char *text, uint64_t *out) {
    uint64_t value = 0;

    if (*text == '\0')
        return false;
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9')
            return false;
        unsigned digit = (unsigned)(*text - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

/* True for a valid instance name: [A-Za-z0-9_.-], 1 to MAX_NAME bytes. */
static bool valid_name(const char *name) {
    size_t len = strlen(name);

    if (len == 0 || len > MAX_NAME)
        return false;
    for (const char *c = name; *c != '\0'; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Splits `text` in place into whitespace-separated words. Returns how many
 * there are, or max + 1 when there are more than `max`. */
static size_t split_words(char *text, char **words, size_t max) {
    size_t count = 0;

    for (char *p = text; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (count == max)
            return max + 1;
        words[count++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
    }
    return count;
}

/* Parses `body` into `cmd`, using `text` (MAX_COMMAND + 1 bytes) for the
 * words. Returns NULL, or the error message for the reply. */
static const char *parse_command(const pinger_state *st, aos_bytes body, char *text,
                                 command *cmd) {
    char *words[4];

    if (body.len > MAX_COMMAND)
        return USAGE;
    if (body.len > 0)
        memcpy(text, body.ptr, body.len);
    text[body.len] = '\0';
    if (memchr(text, '\0', body.len) != NULL)
        return USAGE; /* an embedded NUL would silently cut the command */

    size_t n = split_words(text, words, 4);
    if (n < 2 || n > 4)
        return USAGE;
    if (strcmp(words[0], "ping") == 0)
        cmd->flood = false;
    else if (strcmp(words[0], "flood") == 0)
        cmd->flood = true;
    else
        return USAGE;

    if (!parse_u64(words[1], &cmd->count))
        return USAGE;
    if (cmd->count < 1 || cmd->count > MAX_COUNT)
        return "N must be between 1 and 10000000";

    cmd->target = n >= 3 ? words[2] : st->target;

    uint64_t size = DEFAULT_SIZE;
    if (n == 4 && !parse_u64(words[3], &size))
        return USAGE;
    if (size > MAX_SIZE)
        return "SIZE must be at most 16777216";
    cmd->size = (size_t)size;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                     */
/* ------------------------------------------------------------------------ */

static uint64_t now_ns(aos_ctx *ctx, const aos_kernel_api *api) {
    uint64_t ns = 0;
    api->now(ctx, AOS_CLOCK_MONOTONIC, &ns);
    return ns;
}

/* Counts a failed call or send; true when the run should stop. */
static bool tally_error(tally *t, aos_status status) {
    if (t->errors++ == 0)
        t->first_error = status;
    return status == AOS_ETIMEDOUT || status == AOS_EFULL || status == AOS_ESTOPPING;
}

/* A status field: the status name, or null for AOS_OK. */
static void json_status(json *j, const char *key, aos_status status) {
    if (status == AOS_OK)
        json_null(j, key);
    else
        json_cstr(j, key, aos_status_name(status));
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank `percent` percentile of `sorted` (n > 0 values). */
static uint64_t percentile(const uint64_t *sorted, uint64_t n, unsigned percent) {
    uint64_t rank = (percent * n + 99) / 100;
    return sorted[rank - 1];
}

static void run_ping(aos_ctx *ctx, const aos_kernel_api *api, const command *cmd,
                     aos_bytes payload, json *out) {
    uint64_t *latencies = malloc(cmd->count * sizeof *latencies);
    if (latencies == NULL) {
        json_error(out, "out of memory");
        return;
    }

    tally t = {0, 0, AOS_OK};
    uint64_t start = now_ns(ctx, api);
    for (uint64_t i = 0; i < cmd->count; i++) {
        aos_buffer reply = {NULL, 0};
        uint64_t sent = now_ns(ctx, api);
        aos_status status = api->call(ctx, cmd->target, payload, PING_TIMEOUT_MS, &reply);
        uint64_t answered = now_ns(ctx, api);
        api->release(ctx, &reply);
        if (status == AOS_OK)
            latencies[t.ok++] = answered - sent;
        else if (tally_error(&t, status))
            break;
    }
    uint64_t total_ns = now_ns(ctx, api) - start;

    uint64_t sum = 0, mean = 0, p50 = 0, p99 = 0, min = 0, max = 0;
    if (t.ok > 0) {
        qsort(latencies, (size_t)t.ok, sizeof *latencies, compare_u64);
        for (uint64_t i = 0; i < t.ok; i++)
            sum += latencies[i];
        mean = sum / t.ok;
        p50 = percentile(latencies, t.ok, 50);
        p99 = percentile(latencies, t.ok, 99);
        min = latencies[0];
        max = latencies[t.ok - 1];
    }
    free(latencies);

    json_cstr(out, "op", "ping");
    json_cstr(out, "target", cmd->target);
    json_u64(out, "count", cmd->count);
    json_u64(out, "ok", t.ok);
    json_u64(out, "errors", t.errors);
    json_status(out, "first_error", t.first_error);
    json_u64(out, "total_ns", total_ns);
    json_u64(out, "mean_ns", mean);
    json_u64(out, "p50_ns", p50);
    json_u64(out, "p99_ns", p99);
    json_u64(out, "min_ns", min);
    json_u64(out, "max_ns", max);
    json_end(out);

    char line[256];
    snprintf(line, sizeof line,
             "pinger: ping %.64s x%" PRIu64 " (%zu B): ok %" PRIu64 ", errors %" PRIu64
             " (%s), mean %" PRIu64 " ns, p50 %" PRIu64 " ns, p99 %" PRIu64 " ns",
             cmd->target, cmd->count, cmd->size, t.ok, t.errors,
             aos_status_name(t.first_error), mean, p50, p99);
    api->log(ctx, AOS_LOG_INFO, line);
}

static void run_flood(aos_ctx *ctx, const aos_kernel_api *api, const command *cmd,
                      aos_bytes payload, json *out) {
    tally t = {0, 0, AOS_OK};
    bool stopped = false;
    uint64_t start = now_ns(ctx, api);
    for (uint64_t i = 0; i < cmd->count && !stopped; i++) {
        aos_status status = api->send(ctx, cmd->target, payload, FLOOD_TIMEOUT_MS);
        if (status == AOS_OK)
            t.ok++;
        else
            stopped = tally_error(&t, status);
    }

    /* The target answers this call only after every message sent before it. */
    aos_buffer reply = {NULL, 0};
    bool flushed = false;
    if (!stopped) {
        aos_bytes flush = {(const uint8_t *)FLUSH_BODY, sizeof FLUSH_BODY - 1};
        aos_status status = api->call(ctx, cmd->target, flush, FLOOD_TIMEOUT_MS, &reply);
        flushed = status == AOS_OK;
        if (!flushed)
            tally_error(&t, status);
    }
    uint64_t total_ns = now_ns(ctx, api) - start;
    uint64_t per_second = total_ns > 0 ? t.ok * 1000000000u / total_ns : 0;

    json_cstr(out, "op", "flood");
    json_cstr(out, "target", cmd->target);
    json_u64(out, "count", cmd->count);
    json_u64(out, "sent", t.ok);
    json_u64(out, "errors", t.errors);
    json_status(out, "first_error", t.first_error);
    json_u64(out, "total_ns", total_ns);
    json_u64(out, "per_second", per_second);
    if (flushed) { /* an empty reply may come as {NULL, 0} */
        size_t n = reply.len < MAX_QUOTED_REPLY ? reply.len : MAX_QUOTED_REPLY;
        json_text(out, "target_reply", reply.ptr, n);
    } else {
        json_null(out, "target_reply");
    }
    json_end(out);
    api->release(ctx, &reply);

    char line[256];
    snprintf(line, sizeof line,
             "pinger: flood %.64s x%" PRIu64 " (%zu B): sent %" PRIu64 ", errors %" PRIu64
             " (%s), %" PRIu64 " msg/s",
             cmd->target, cmd->count, cmd->size, t.ok, t.errors,
             aos_status_name(t.first_error), per_second);
    api->log(ctx, AOS_LOG_INFO, line);
}

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                      */
/* ------------------------------------------------------------------------ */

static aos_status pinger_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                              void **state) {
    static const char key[] = "target=";
    const char *target = "echo";

    if (*config != '\0') {
        target = config + sizeof key - 1;
        if (strncmp(config, key, sizeof key - 1) != 0 || !valid_name(target)) {
            api->log(ctx, AOS_LOG_ERROR,
                     "pinger: invalid config: expected \"\" or \"target=NAME\" "
                     "with NAME 1-63 bytes of [A-Za-z0-9_.-]");
            return AOS_EINVAL;
        }
    }

    pinger_state *st = malloc(sizeof *st);
    if (st == NULL)
        return AOS_ENOMEM;
    st->api = api;
    snprintf(st->target, sizeof st->target, "%s", target);
    *state = st;
    return AOS_OK;
}

static aos_status pinger_on_message(aos_ctx *ctx, void *state, const aos_message *msg) {
    pinger_state *st = state;
    const aos_kernel_api *api = st->api;
    char text[MAX_COMMAND + 1];
    command cmd;
    json out = {.len = 0};

    const char *error = parse_command(st, msg->body, text, &cmd);
    if (error != NULL) {
        char line[192];
        snprintf(line, sizeof line, "pinger: bad command from %.63s: %s", msg->from, error);
        api->log(ctx, AOS_LOG_WARN, line);
        json_error(&out, error);
    } else {
        /* malloc(0) may return NULL, so allocate at least one byte. */
        uint8_t *payload = malloc(cmd.size > 0 ? cmd.size : 1);
        if (payload == NULL) {
            json_error(&out, "out of memory");
        } else {
            memset(payload, 'x', cmd.size);
            aos_bytes body = {payload, cmd.size};
            if (cmd.flood)
                run_flood(ctx, api, &cmd, body, &out);
            else
                run_ping(ctx, api, &cmd, body, &out);
            free(payload);
        }
    }

    if ((msg->flags & AOS_MSG_REQUEST) == 0)
        return AOS_OK;
    if (out.overflow)
        json_error(&out, "result too long");
    return api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)out.text, out.len});
}

static void pinger_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    free(state);
}

/* Sending to other agents needs a capability; the kernel decides which
 * targets it grants. */
static const char *const pinger_capabilities[] = {"send:*", NULL};

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_AGENT,
    .name = "pinger",
    .version = "1.0.0",
    .description = "Measures request/reply latency and message throughput to another agent.",
    .capabilities = pinger_capabilities,
    .init = pinger_init,
    .on_message = pinger_on_message,
    .stop = pinger_stop,
};
