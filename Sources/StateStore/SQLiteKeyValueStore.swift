import Foundation
import GRDB
import KernelCore

/// `KeyValueStore` on the state database's `kv` and `kv_namespaces` tables.
///
/// Puts and deletes are one transaction each on the pool's one writer (the
/// writer queue: a call waits at most for the writes queued before it, each
/// a few statements on one key); gets and lists are a single SELECT each,
/// which needs no transaction, on the database's read-only connections
/// (`StateReaders`; WAL: readers never wait for the writer). A put reads the key's
/// version and the namespace's totals, checks the expected version and the
/// limits, and writes both rows in the same transaction, so of two racing
/// compare-and-sets exactly one wins and the totals are always exact.
/// The single-key paths (get, put, delete) run prepared statements through
/// SQLite's C API (`KeyValueStatements`) on those same connections; listings
/// and totals go through GRDB. Thread-safe.
public final class SQLiteKeyValueStore: KeyValueStore {
    private let database: StateDatabase
    private let writer = WriterStatements()

    /// The statements prepared on the pool's writer connection.
    /// `@unchecked Sendable`: `statements` is only touched on the writer queue.
    private final class WriterStatements: @unchecked Sendable {
        var statements: KeyValueStatements?

        /// The statements for `db`, the writer's connection, prepared on first use.
        func on(_ db: Database) throws -> KeyValueStatements {
            if let statements { return statements }
            guard let connection = db.sqliteConnection else {
                throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the writer's connection is closed")
            }
            let made = KeyValueStatements(connection: connection)
            statements = made
            return made
        }
    }

    public init(database: StateDatabase) {
        self.database = database
    }

    public func get(namespace: String, key: String) throws(KeyValueStoreError) -> KeyValueEntry? {
        // One SELECT is consistent on its own: no transaction around it.
        try access { _ in try database.readers.readStatements { statements in try statements.get(namespace: namespace, key: key) } }
    }

    public func put(
        namespace: String, key: String, value: UnsafeRawBufferPointer, expected: ExpectedVersion, limits: NamespaceLimits
    ) throws(KeyValueStoreError) -> UInt64 {
        let outcome = try access { pool in
            try pool.writeWithoutTransaction { db in
                try writer.on(db).put(namespace: namespace, key: key, value: value, expected: expected, limits: limits)
            }
        }
        return try outcome.get()
    }

    public func delete(namespace: String, key: String, expected: ExpectedVersion) throws(KeyValueStoreError) -> Bool {
        let outcome = try access { pool in
            try pool.writeWithoutTransaction { db in try writer.on(db).delete(namespace: namespace, key: key, expected: expected) }
        }
        return try outcome.get()
    }

    public func list(namespace: String, prefix: String, after: String?, limit: Int) throws(KeyValueStoreError) -> KeyValuePage {
        try access { _ in
            try database.readers.read { db in
                // Keys compare as bytes (BINARY collation): from the prefix on, past `after`.
                let rows = try Row.fetchAll(
                    db.cachedStatement(sql: """
                        SELECT key, version, length(value) FROM kv
                        WHERE namespace = ? AND key >= ? AND key > ? AND substr(key, 1, length(?)) = ?
                        ORDER BY key LIMIT ?
                        """),
                    arguments: [namespace, prefix, after ?? "", prefix, prefix, limit + 1])
                let keys = rows.prefix(limit).map { row in
                    KeyValueListing(key: row[0], version: UInt64(row[1] as Int64), bytes: row[2])
                }
                return KeyValuePage(keys: Array(keys), next: rows.count > limit ? keys.last?.key : nil)
            }
        }
    }

    public func namespaces() throws(KeyValueStoreError) -> [NamespaceUsage] {
        try access { pool in
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT namespace, keys, bytes FROM kv_namespaces ORDER BY namespace").map { row in
                    NamespaceUsage(namespace: row[0], keys: row[1], bytes: row[2])
                }
            }
        }
    }

    // MARK: Helpers

    /// Runs `body` on the pool; SQLite's failures become `.unavailable` with the operator's line.
    private func access<T>(_ body: (DatabasePool) throws -> T) throws(KeyValueStoreError) -> T {
        do {
            return try body(database.pool)
        } catch {
            throw .unavailable(StateDatabase.problem(error, path: database.path).description)
        }
    }
}
