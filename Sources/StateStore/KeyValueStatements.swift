import GRDB
import GRDBSQLite
import KernelCore

/// The single-key paths of `SQLiteKeyValueStore` (get, put with
/// compare-and-set, delete) as prepared statements on one SQLite connection,
/// called through SQLite's C API.
///
/// GRDB stays in charge of the connection (it opened it and migrated the
/// schema); these statements only skip its per-call costs: the SQL-keyed
/// statement cache, argument and row boxing, and BEGIN/COMMIT compiled anew
/// for every transaction. Each statement is prepared on first use and kept
/// (SQLITE_PREPARE_PERSISTENT) until this object goes. Errors are GRDB's
/// `DatabaseError`s, so `StateDatabase.problem` names them as before.
///
/// Not thread-safe by itself, hence `@unchecked Sendable`: one thread at a time
/// uses it, the one holding its connection (the pool's writer queue, or the
/// reader that took the connection from `StateReaders`).
final class KeyValueStatements: @unchecked Sendable {
    private let connection: OpaquePointer
    private var prepared: [OpaquePointer?] = Array(repeating: nil, count: Query.allCases.count)

    private enum Query: Int, CaseIterable {
        case get, old, usage, upsert, totals, dropTotals, delete, begin, commit, rollback

        var sql: String {
            switch self {
            case .get: "SELECT value, version FROM kv WHERE namespace = ? AND key = ?"
            case .old: "SELECT version, bytes FROM kv WHERE namespace = ? AND key = ?"
            case .usage: "SELECT keys, bytes FROM kv_namespaces WHERE namespace = ?"
            case .upsert:
                """
                INSERT INTO kv (namespace, key, value, version, bytes) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = excluded.version, bytes = excluded.bytes
                """
            case .totals:
                """
                INSERT INTO kv_namespaces (namespace, keys, bytes) VALUES (?, ?, ?)
                ON CONFLICT (namespace) DO UPDATE SET keys = excluded.keys, bytes = excluded.bytes
                """
            case .dropTotals: "DELETE FROM kv_namespaces WHERE namespace = ?"
            case .delete: "DELETE FROM kv WHERE namespace = ? AND key = ?"
            case .begin: "BEGIN IMMEDIATE"
            case .commit: "COMMIT"
            case .rollback: "ROLLBACK"
            }
        }
    }

    /// Statements for `connection`, which must outlive this object.
    init(connection: OpaquePointer) {
        self.connection = connection
    }

    deinit {
        for statement in prepared where statement != nil { sqlite3_finalize(statement) }
    }

    // MARK: The operations

    /// The key's value and version, nil when absent. One SELECT, no transaction.
    func get(namespace: String, key: String) throws -> KeyValueEntry? {
        let statement = try self.statement(.get)
        defer { sqlite3_reset(statement) }
        bind(statement, namespace, key)
        guard try step(statement) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, 0))
        let value = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0, let blob = sqlite3_column_blob(statement, 0) {
                buffer.baseAddress!.initialize(from: blob.assumingMemoryBound(to: UInt8.self), count: count)
            }
            initialized = count
        }
        return KeyValueEntry(value: value, version: UInt64(sqlite3_column_int64(statement, 1)))
    }

    /// The put's one transaction: the key's version and the namespace's totals
    /// read, `expected` and `limits` checked, both rows written. A refusal
    /// (conflict, quota) rolls back and is returned, not thrown; SQLite's errors are thrown.
    func put(
        namespace: String, key: String, value: UnsafeRawBufferPointer, expected: ExpectedVersion, limits: NamespaceLimits
    ) throws -> Result<UInt64, KeyValueStoreError> {
        try transaction {
            let old = try self.old(namespace, key)
            if let refusal = Self.conflict(current: old?.version, expected: expected) { return .failure(refusal) }
            let usage = try self.usage(namespace)
            let bytes = key.utf8.count + value.count
            let keys = usage.keys + (old == nil ? 1 : 0)
            let total = usage.bytes - (old?.bytes ?? 0) + bytes
            if let limit = limits.keys, old == nil, keys > limit {
                return .failure(.quota(quota: "kv_keys", limit: limit, wouldBe: keys))
            }
            if let limit = limits.bytes, total > limit, total > usage.bytes {
                return .failure(.quota(quota: "kv_bytes", limit: limit, wouldBe: total))
            }
            let version = (old?.version ?? 0) + 1
            let upsert = try statement(.upsert)
            defer {
                sqlite3_reset(upsert)
                sqlite3_clear_bindings(upsert)
            }
            bind(upsert, namespace, key)
            // SQLite copies the bytes once, while the statement runs (SQLITE_STATIC: no copy when binding).
            sqlite3_bind_blob(upsert, 3, value.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(value.count), nil)
            sqlite3_bind_int64(upsert, 4, Int64(version))
            sqlite3_bind_int64(upsert, 5, Int64(bytes))
            _ = try step(upsert)
            try setUsage(namespace, keys: keys, bytes: total)
            return .success(version)
        }
    }

    /// The delete's one transaction: false when the key was absent (and `expected` allowed that).
    func delete(namespace: String, key: String, expected: ExpectedVersion) throws -> Result<Bool, KeyValueStoreError> {
        try transaction {
            let old = try self.old(namespace, key)
            if let refusal = Self.conflict(current: old?.version, expected: expected) { return .failure(refusal) }
            guard let old else { return .success(false) }
            let delete = try statement(.delete)
            defer { sqlite3_reset(delete) }
            bind(delete, namespace, key)
            _ = try step(delete)
            let usage = try self.usage(namespace)
            try setUsage(namespace, keys: usage.keys - 1, bytes: usage.bytes - old.bytes)
            return .success(true)
        }
    }

    // MARK: Steps

    /// Runs `body` in BEGIN IMMEDIATE … COMMIT; a refusal or an error rolls back.
    private func transaction<T>(_ body: () throws -> Result<T, KeyValueStoreError>) throws -> Result<T, KeyValueStoreError> {
        try run(.begin)
        do {
            let outcome = try body()
            if case .failure = outcome { try run(.rollback) } else { try run(.commit) }
            return outcome
        } catch {
            // SQLite may have rolled back already (SQLITE_FULL, for one).
            if sqlite3_get_autocommit(connection) == 0 { try? run(.rollback) }
            throw error
        }
    }

    private func old(_ namespace: String, _ key: String) throws -> (version: UInt64, bytes: Int)? {
        let statement = try self.statement(.old)
        defer { sqlite3_reset(statement) }
        bind(statement, namespace, key)
        guard try step(statement) else { return nil }
        return (UInt64(sqlite3_column_int64(statement, 0)), Int(sqlite3_column_int64(statement, 1)))
    }

    private func usage(_ namespace: String) throws -> (keys: Int, bytes: Int) {
        let statement = try self.statement(.usage)
        defer { sqlite3_reset(statement) }
        bind(statement, namespace)
        guard try step(statement) else { return (0, 0) }
        return (Int(sqlite3_column_int64(statement, 0)), Int(sqlite3_column_int64(statement, 1)))
    }

    private func setUsage(_ namespace: String, keys: Int, bytes: Int) throws {
        let statement = try self.statement(keys == 0 ? .dropTotals : .totals)
        defer { sqlite3_reset(statement) }
        bind(statement, namespace)
        if keys != 0 {
            sqlite3_bind_int64(statement, 2, Int64(keys))
            sqlite3_bind_int64(statement, 3, Int64(bytes))
        }
        _ = try step(statement)
    }

    private static func conflict(current: UInt64?, expected: ExpectedVersion) -> KeyValueStoreError? {
        switch expected {
        case .any: nil
        case .absent: current == nil ? nil : .conflict(current: current)
        case .exactly(let version): current == version ? nil : .conflict(current: current)
        }
    }

    // MARK: SQLite's C API

    /// The prepared statement for `query`, prepared on first use.
    private func statement(_ query: Query) throws -> OpaquePointer {
        if let statement = prepared[query.rawValue] { return statement }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(connection, query.sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure(code, query.sql) }
        prepared[query.rawValue] = statement
        return statement
    }

    private func run(_ query: Query) throws {
        let statement = try self.statement(query)
        defer { sqlite3_reset(statement) }
        _ = try step(statement)
    }

    /// Binds the namespace (and key) to the first parameters; SQLite copies them.
    private func bind(_ statement: OpaquePointer, _ namespace: String, _ key: String? = nil) {
        sqlite3_bind_text(statement, 1, namespace, -1, Self.transient)
        if let key { sqlite3_bind_text(statement, 2, key, -1, Self.transient) }
    }

    /// One step: true on a row, false when done; SQLite's error otherwise.
    private func step(_ statement: OpaquePointer) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw failure(code, sqlite3_sql(statement).map { String(cString: $0) })
        }
    }

    private func failure(_ code: Int32, _ sql: String?) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }

    /// SQLITE_TRANSIENT: SQLite copies a bound text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
