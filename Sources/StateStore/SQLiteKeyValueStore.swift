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
/// Thread-safe.
public final class SQLiteKeyValueStore: KeyValueStore {
    private let database: StateDatabase

    public init(database: StateDatabase) {
        self.database = database
    }

    public func get(namespace: String, key: String) throws(KeyValueStoreError) -> KeyValueEntry? {
        try access { _ in
            // One SELECT is consistent on its own: no transaction around it.
            try database.readers.read { db in
                let statement = try db.cachedStatement(sql: "SELECT value, version FROM kv WHERE namespace = ? AND key = ?")
                guard let row = try Row.fetchOne(statement, arguments: [namespace, key]) else { return nil }
                let value = try row.withUnsafeData(atIndex: 0) { data in data.map { [UInt8]($0) } ?? [] }
                return KeyValueEntry(value: value, version: UInt64(row[1] as Int64))
            }
        }
    }

    public func put(
        namespace: String, key: String, value: UnsafeRawBufferPointer, expected: ExpectedVersion, limits: NamespaceLimits
    ) throws(KeyValueStoreError) -> UInt64 {
        // Bound without a copy: GRDB hands SQLite the bytes, which copies them once.
        let blob = value.baseAddress.map { Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0), count: value.count, deallocator: .none) } ?? Data()
        let bytes = key.utf8.count + value.count
        let outcome: Result<UInt64, KeyValueStoreError> = try access { pool in
            try pool.write { db in
                let old = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT version, bytes FROM kv WHERE namespace = ? AND key = ?"), arguments: [namespace, key])
                let oldVersion = old.map { UInt64($0[0] as Int64) }
                if let refusal = Self.conflict(current: oldVersion, expected: expected) { return .failure(refusal) }
                let usage = try Self.usage(db, namespace)
                let keys = usage.keys + (old == nil ? 1 : 0)
                let total = usage.bytes - (old.map { $0[1] as Int } ?? 0) + bytes
                if let limit = limits.keys, old == nil, keys > limit {
                    return .failure(.quota(quota: "kv_keys", limit: limit, wouldBe: keys))
                }
                if let limit = limits.bytes, total > limit, total > usage.bytes {
                    return .failure(.quota(quota: "kv_bytes", limit: limit, wouldBe: total))
                }
                let version = (oldVersion ?? 0) + 1
                try db.cachedStatement(sql: """
                    INSERT INTO kv (namespace, key, value, version, bytes) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = excluded.version, bytes = excluded.bytes
                    """).execute(arguments: [namespace, key, blob, Int64(version), bytes])
                try Self.setUsage(db, namespace, keys: keys, bytes: total)
                return .success(version)
            }
        }
        return try outcome.get()
    }

    public func delete(namespace: String, key: String, expected: ExpectedVersion) throws(KeyValueStoreError) -> Bool {
        let outcome: Result<Bool, KeyValueStoreError> = try access { pool in
            try pool.write { db in
                let old = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT version, bytes FROM kv WHERE namespace = ? AND key = ?"), arguments: [namespace, key])
                let oldVersion = old.map { UInt64($0[0] as Int64) }
                if let refusal = Self.conflict(current: oldVersion, expected: expected) { return .failure(refusal) }
                guard let old else { return .success(false) }
                try db.cachedStatement(sql: "DELETE FROM kv WHERE namespace = ? AND key = ?").execute(arguments: [namespace, key])
                let usage = try Self.usage(db, namespace)
                try Self.setUsage(db, namespace, keys: usage.keys - 1, bytes: usage.bytes - (old[1] as Int))
                return .success(true)
            }
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

    private static func conflict(current: UInt64?, expected: ExpectedVersion) -> KeyValueStoreError? {
        switch expected {
        case .any: nil
        case .absent: current == nil ? nil : .conflict(current: current)
        case .exactly(let version): current == version ? nil : .conflict(current: current)
        }
    }

    private static func usage(_ db: Database, _ namespace: String) throws -> (keys: Int, bytes: Int) {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT keys, bytes FROM kv_namespaces WHERE namespace = ?"), arguments: [namespace])
        return row.map { ($0[0], $0[1]) } ?? (0, 0)
    }

    private static func setUsage(_ db: Database, _ namespace: String, keys: Int, bytes: Int) throws {
        if keys == 0 {
            try db.cachedStatement(sql: "DELETE FROM kv_namespaces WHERE namespace = ?").execute(arguments: [namespace])
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO kv_namespaces (namespace, keys, bytes) VALUES (?, ?, ?)
                ON CONFLICT (namespace) DO UPDATE SET keys = excluded.keys, bytes = excluded.bytes
                """).execute(arguments: [namespace, keys, bytes])
        }
    }

    /// Runs `body` on the pool; SQLite's failures become `.unavailable` with the operator's line.
    private func access<T>(_ body: (DatabasePool) throws -> T) throws(KeyValueStoreError) -> T {
        do {
            return try body(database.pool)
        } catch {
            throw .unavailable(StateDatabase.problem(error, path: database.path).description)
        }
    }
}
