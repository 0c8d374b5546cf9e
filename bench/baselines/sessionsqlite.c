/*
 * sessionsqlite.c — the session prompt row's baseline: what reading a
 * session's history costs in SQLite through its C API directly, on a fresh
 * database in PATH holding one session of 200 turns of ~200 bytes.
 *
 *   sessionsqlite PATH [N]
 *
 * The kernel's tables ("v2: sessions") and file settings (WAL,
 * synchronous=NORMAL); each of N rounds runs the same two SELECTs as
 * SQLiteSessionStore.history (the session's summary and cut, then its turns
 * after the cut, in order) and copies every text column. Prepared
 * statements, reused. Prints {"p50_ns":..} (the median round).
 */
#include <sqlite3.h>
#include <string.h>

#include "baseline.h"

#define TURNS 200

static sqlite3 *db;

static void must(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sessionsqlite: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    must(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL), sql);
    return statement;
}

static char *copy_text(sqlite3_stmt *statement, int column) {
    const unsigned char *text = sqlite3_column_text(statement, column);
    if (text == NULL) return NULL;
    size_t n = (size_t)sqlite3_column_bytes(statement, column);
    char *copy = malloc(n + 1);
    memcpy(copy, text, n + 1);
    return copy;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *usage = "sessionsqlite PATH [N]";
    if (argc < 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    uint64_t n = arg_u64(argc, argv, 2, 2000, 1, 10000000, usage);
    must(sqlite3_open(argv[1], &db), "open");
    must(sqlite3_exec(db,
                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                      "CREATE TABLE sessions (agent TEXT NOT NULL, id TEXT NOT NULL, policy TEXT NOT NULL, summary TEXT,"
                      " cut_through INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 1,"
                      " pruned INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
                      " PRIMARY KEY (agent, id)) WITHOUT ROWID;"
                      "CREATE TABLE session_turns (agent TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,"
                      " role TEXT NOT NULL, content TEXT NOT NULL, tool_calls TEXT, tool_call_id TEXT,"
                      " tokens INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (agent, id, seq)) WITHOUT ROWID;"
                      "INSERT INTO sessions (agent, id, policy, created_at, updated_at) VALUES ('bench', 's', 'keep_recent', 0, 0);",
                      NULL, NULL, NULL),
         "schema");
    sqlite3_stmt *insert = prepare(
        "INSERT INTO session_turns (agent, id, seq, role, content, tokens, at) VALUES ('bench', 's', ?, ?, ?, 50, 0)");
    char content[201];
    memset(content, 'w', 200);
    content[200] = '\0';
    must(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
    for (int seq = 1; seq <= TURNS; seq++) {
        sqlite3_bind_int64(insert, 1, seq);
        sqlite3_bind_text(insert, 2, seq % 2 ? "user" : "assistant", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, content, -1, SQLITE_STATIC);
        must(sqlite3_step(insert), "insert");
        sqlite3_reset(insert);
    }
    must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");

    sqlite3_stmt *head = prepare("SELECT summary, cut_through FROM sessions WHERE agent = ? AND id = ?");
    sqlite3_stmt *turns = prepare(
        "SELECT seq, role, content, tool_calls, tool_call_id, tokens, at FROM session_turns"
        " WHERE agent = ? AND id = ? AND seq > ? ORDER BY seq");
    uint64_t *rounds = malloc(n * sizeof *rounds);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t start = now_ns();
        sqlite3_bind_text(head, 1, "bench", -1, SQLITE_STATIC);
        sqlite3_bind_text(head, 2, "s", -1, SQLITE_STATIC);
        must(sqlite3_step(head), "head");
        free(copy_text(head, 0));
        int64_t cut = sqlite3_column_int64(head, 1);
        sqlite3_reset(head);
        sqlite3_bind_text(turns, 1, "bench", -1, SQLITE_STATIC);
        sqlite3_bind_text(turns, 2, "s", -1, SQLITE_STATIC);
        sqlite3_bind_int64(turns, 3, cut);
        while (sqlite3_step(turns) == SQLITE_ROW) {
            char *role = copy_text(turns, 1), *text = copy_text(turns, 2);
            free(copy_text(turns, 3));
            free(copy_text(turns, 4));
            sum += (uint64_t)sqlite3_column_int64(turns, 0) + (uint64_t)sqlite3_column_int64(turns, 5) + (uint8_t)text[0] + (uint8_t)role[0];
            free(role);
            free(text);
        }
        sqlite3_reset(turns);
        rounds[i] = now_ns() - start;
    }
    qsort(rounds, n, sizeof *rounds, compare);
    printf("{\"p50_ns\":%" PRIu64 ",\"checksum\":%" PRIu64 "}\n", rounds[n / 2], sum);
    free(rounds);
    sqlite3_close_v2(db);
    return 0;
}
