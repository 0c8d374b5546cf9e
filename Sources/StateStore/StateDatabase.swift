import Foundation
import GRDB

/// The kernel's state database, `$AGENTOS_HOME/state.sqlite`: one SQLite file
/// in WAL mode, opened once per kernel through a GRDB `DatabasePool` (one
/// writer connection, whose serial queue is the one writer queue, and
/// readers beside it).
///
/// Every table the kernel keeps lives here, created by the named migrations
/// of `migrator`: a subsystem adds its tables as one more migration,
/// appended at the end (never edit one that shipped). Opening checks the file
/// (`quick_check`) and migrates it, so a bad file is reported once, at
/// startup, as a `StateStoreError`. Thread-safe.
public final class StateDatabase: Sendable {
    /// The database file.
    public let path: String
    /// The connections; the stores built on this database share them.
    public let pool: DatabasePool
    /// Read-only connections for single-statement reads on hot paths (`kv_get`, `kv_list`).
    let readers: StateReaders

    /// Opens (creating if absent) the database at `path` and applies the
    /// migrations it lacks. Throws `StateStoreError`: `.readOnly`, `.corrupt`, `.full` or `.unusable`.
    public init(path: String) throws(StateStoreError) {
        self.path = path
        readers = StateReaders(path: path)
        var configuration = Configuration()
        configuration.label = "state"
        configuration.busyMode = .timeout(5)
        // WAL with synchronous=NORMAL: a commit survives the kernel being killed
        // (the WAL is in the OS's cache); only power loss may lose the last ones.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            let check = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            guard check == ["ok"] else {
                throw StateStoreError.corrupt(path: path, detail: check.prefix(3).joined(separator: "; "))
            }
            try Self.migrator.migrate(pool)
        } catch {
            throw Self.problem(error, path: path)
        }
    }

    /// The schema, one named migration per step. Append new ones at the end.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: kv") { db in
            try db.execute(sql: """
                CREATE TABLE kv (
                    namespace TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value BLOB NOT NULL,
                    version INTEGER NOT NULL CHECK (version > 0),
                    bytes INTEGER NOT NULL,
                    PRIMARY KEY (namespace, key)
                ) WITHOUT ROWID;
                CREATE TABLE kv_namespaces (
                    namespace TEXT PRIMARY KEY,
                    keys INTEGER NOT NULL,
                    bytes INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: instances") { db in
            // The instance table loaded through the control API (InstanceRecord).
            try db.execute(sql: """
                CREATE TABLE instances (
                    name TEXT PRIMARY KEY,
                    plugin TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    config TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    isolation TEXT NOT NULL,
                    restart TEXT,
                    restart_intensity INTEGER,
                    restart_period REAL,
                    grants TEXT NOT NULL,
                    quotas TEXT NOT NULL,
                    loaded_at REAL NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        // Conversations (SQLiteSessionStore).
        migrator.registerMigration("v3: sessions") { db in
            try db.execute(sql: """
                CREATE TABLE sessions (
                    agent TEXT NOT NULL,
                    id TEXT NOT NULL,
                    policy TEXT NOT NULL,
                    summary TEXT,
                    cut_through INTEGER NOT NULL DEFAULT 0,
                    next_seq INTEGER NOT NULL DEFAULT 1,
                    pruned INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (agent, id)
                ) WITHOUT ROWID;
                CREATE INDEX sessions_by_age ON sessions (updated_at);
                CREATE TABLE session_turns (
                    agent TEXT NOT NULL,
                    id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    role TEXT NOT NULL,
                    content TEXT NOT NULL,
                    tool_calls TEXT,
                    tool_call_id TEXT,
                    tokens INTEGER NOT NULL,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (agent, id, seq),
                    FOREIGN KEY (agent, id) REFERENCES sessions (agent, id) ON DELETE CASCADE
                ) WITHOUT ROWID;
                CREATE TABLE session_cuts (
                    agent TEXT NOT NULL,
                    id TEXT NOT NULL,
                    from_seq INTEGER NOT NULL,
                    through_seq INTEGER NOT NULL,
                    turns INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    summary TEXT,
                    reason TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (agent, id, through_seq),
                    FOREIGN KEY (agent, id) REFERENCES sessions (agent, id) ON DELETE CASCADE
                ) WITHOUT ROWID;
                """)
        }
        // Tool-loop runs and their checkpointed steps (SQLiteRunStore).
        migrator.registerMigration("v4: runs") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY,
                    agent TEXT NOT NULL,
                    reply TEXT NOT NULL,
                    session TEXT,
                    state TEXT NOT NULL,
                    request TEXT NOT NULL,
                    answer TEXT,
                    error_code TEXT,
                    error_message TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX runs_by_state ON runs (state, updated_at);
                CREATE TABLE run_steps (
                    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    text TEXT,
                    calls TEXT NOT NULL,
                    error_code TEXT,
                    duration_ns INTEGER NOT NULL DEFAULT 0,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (run, seq)
                ) WITHOUT ROWID;
                """)
        }
        // Each model turn's tokens, so a resumed run's totals are whole (0 on steps stored before).
        migrator.registerMigration("v5: run step usage") { db in
            try db.execute(sql: """
                ALTER TABLE run_steps ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE run_steps ADD COLUMN cached_prompt_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE run_steps ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
                """)
        }
        return migrator
    }

    /// What an error from SQLite means for the operator.
    public static func problem(_ error: Error, path: String) -> StateStoreError {
        if let error = error as? StateStoreError { return error }
        guard let error = error as? DatabaseError else { return .unusable(path: path, detail: "\(error)") }
        let detail = error.message ?? "SQLite error \(error.resultCode.rawValue)"
        switch error.resultCode {
        case .SQLITE_READONLY, .SQLITE_PERM:
            return .readOnly(path: path, detail: detail)
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .corrupt(path: path, detail: detail)
        case .SQLITE_FULL:
            return .full(path: path, detail: detail)
        case .SQLITE_CANTOPEN:
            // A writable file in a read-only folder: SQLite cannot create its WAL.
            let folder = (path as NSString).deletingLastPathComponent
            if FileManager.default.fileExists(atPath: folder), access(folder, W_OK) != 0 {
                return .readOnly(path: path, detail: "its folder \(folder) is not writable")
            }
            return .unusable(path: path, detail: detail)
        default:
            return .unusable(path: path, detail: detail)
        }
    }
}
