/*
 * kvsqlite.c — the storage rows' baseline: what one kv_put and one kv_get do
 * in SQLite, through its C API directly, on a fresh database in PATH.
 *
 *   kvsqlite PATH [N [SIZE]]
 *
 * The same file settings as the kernel's state database (WAL,
 * synchronous=NORMAL) and the same transaction per put: read the key's
 * version and size, read the namespace's totals, upsert the key, upsert the
 * totals; a get is one SELECT. Prepared statements, reused. Prints
 * {"put_ns":..,"get_ns":..} (means).
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>

#include "baseline.h"

static sqlite3 *db;

static void must(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "kvsqlite: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    must(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL), sql);
    return statement;
}

int main(int argc, char **argv) {
    const char *usage = "kvsqlite PATH [N [SIZE]]";
    if (argc < 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    uint64_t n = arg_u64(argc, argv, 2, 20000, 1, 100000000, usage);
    uint64_t size = arg_u64(argc, argv, 3, 100, 0, 1 << 20, usage);
    must(sqlite3_open(argv[1], &db), "open");
    must(sqlite3_exec(db,
                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                      "CREATE TABLE IF NOT EXISTS kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
                      " version INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID;"
                      "CREATE TABLE IF NOT EXISTS kv_namespaces (namespace TEXT PRIMARY KEY, keys INTEGER NOT NULL,"
                      " bytes INTEGER NOT NULL) WITHOUT ROWID;",
                      NULL, NULL, NULL),
         "schema");
    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE"), *commit = prepare("COMMIT");
    sqlite3_stmt *old = prepare("SELECT version, bytes FROM kv WHERE namespace = ? AND key = ?");
    sqlite3_stmt *usage_of = prepare("SELECT keys, bytes FROM kv_namespaces WHERE namespace = ?");
    sqlite3_stmt *upsert = prepare(
        "INSERT INTO kv (namespace, key, value, version, bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE"
        " SET value = excluded.value, version = excluded.version, bytes = excluded.bytes");
    sqlite3_stmt *totals = prepare(
        "INSERT INTO kv_namespaces (namespace, keys, bytes) VALUES (?, ?, ?) ON CONFLICT (namespace) DO UPDATE"
        " SET keys = excluded.keys, bytes = excluded.bytes");
    sqlite3_stmt *get = prepare("SELECT value, version FROM kv WHERE namespace = ? AND key = ?");
    char *value = malloc(size + 1);
    memset(value, 'v', size);
    const char *ns = "kvsqlite";

    uint64_t start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%" PRIu64, i);
        must(sqlite3_step(begin), "begin");
        sqlite3_reset(begin);
        sqlite3_bind_text(old, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(old, 2, key, -1, SQLITE_STATIC);
        int64_t version = 0, old_bytes = 0;
        if (sqlite3_step(old) == SQLITE_ROW) {
            version = sqlite3_column_int64(old, 0);
            old_bytes = sqlite3_column_int64(old, 1);
        }
        sqlite3_reset(old);
        sqlite3_bind_text(usage_of, 1, ns, -1, SQLITE_STATIC);
        int64_t keys = 0, bytes = 0;
        if (sqlite3_step(usage_of) == SQLITE_ROW) {
            keys = sqlite3_column_int64(usage_of, 0);
            bytes = sqlite3_column_int64(usage_of, 1);
        }
        sqlite3_reset(usage_of);
        int64_t entry = (int64_t)(strlen(key) + size);
        sqlite3_bind_text(upsert, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(upsert, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(upsert, 3, value, (int)size, SQLITE_STATIC);
        sqlite3_bind_int64(upsert, 4, version + 1);
        sqlite3_bind_int64(upsert, 5, entry);
        must(sqlite3_step(upsert), "upsert");
        sqlite3_reset(upsert);
        sqlite3_bind_text(totals, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_int64(totals, 2, keys + (version == 0));
        sqlite3_bind_int64(totals, 3, bytes - old_bytes + entry);
        must(sqlite3_step(totals), "totals");
        sqlite3_reset(totals);
        must(sqlite3_step(commit), "commit");
        sqlite3_reset(commit);
    }
    uint64_t put_ns = now_ns() - start;

    uint64_t sum = 0;
    start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%" PRIu64, i);
        sqlite3_bind_text(get, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(get, 2, key, -1, SQLITE_STATIC);
        if (sqlite3_step(get) == SQLITE_ROW) {
            char *copy = malloc((size_t)sqlite3_column_bytes(get, 0) + 1);
            memcpy(copy, sqlite3_column_blob(get, 0), (size_t)sqlite3_column_bytes(get, 0));
            sum += (uint64_t)sqlite3_column_int64(get, 1) + (uint8_t)copy[0];
            free(copy);
        }
        sqlite3_reset(get);
    }
    uint64_t get_ns = now_ns() - start;
    sqlite3_close_v2(db);
    printf("{\"put_ns\":%.1f,\"get_ns\":%.1f,\"check\":%" PRIu64 "}\n", (double)put_ns / (double)n, (double)get_ns / (double)n, sum);
    return 0;
}
