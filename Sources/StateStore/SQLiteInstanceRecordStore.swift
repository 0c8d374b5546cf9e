import Foundation
import GRDB
import KernelCore

/// `InstanceRecordStore` on the state database's `instances` table: one row
/// per recorded instance, its grants a JSON array of capability texts and its
/// quotas a JSON object (key → limit). Each call is one transaction on the
/// pool's writer (saves, removes) or a reader (`all`). A save keeps the row's
/// `loaded_at`, so a settings change does not move the instance in the
/// restore order. Thread-safe.
public final class SQLiteInstanceRecordStore: InstanceRecordStore {
    private let database: StateDatabase

    public init(database: StateDatabase) {
        self.database = database
    }

    public func save(_ record: InstanceRecord) throws(InstanceRecordStoreError) {
        let grants = Self.json(record.grants)
        let quotas = Self.json(record.quotas)
        try access { pool in
            try pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO instances (name, plugin, sha256, config, priority, isolation, restart, restart_intensity,
                                               restart_period, grants, quotas, loaded_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (name) DO UPDATE SET
                            plugin = excluded.plugin, sha256 = excluded.sha256, config = excluded.config,
                            priority = excluded.priority, isolation = excluded.isolation, restart = excluded.restart,
                            restart_intensity = excluded.restart_intensity, restart_period = excluded.restart_period,
                            grants = excluded.grants, quotas = excluded.quotas
                        """,
                    arguments: [
                        record.name, record.plugin, record.sha256, record.config, record.priority, record.isolation.rawValue,
                        record.restart?.kind.rawValue, record.restart?.intensity, record.restart?.period, grants, quotas,
                        record.loadedAt.timeIntervalSince1970,
                    ])
            }
        }
    }

    public func remove(name: String) throws(InstanceRecordStoreError) -> Bool {
        try access { pool in
            try pool.write { db in
                try db.execute(sql: "DELETE FROM instances WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        }
    }

    public func all() throws(InstanceRecordStoreError) -> (records: [InstanceRecord], unreadable: [(name: String, problem: String)]) {
        let rows = try access { pool in
            try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM instances ORDER BY loaded_at, name") }
        }
        var records: [InstanceRecord] = []
        var unreadable: [(name: String, problem: String)] = []
        for row in rows {
            let name = String.fromDatabaseValue(row["name"] as DatabaseValue) ?? "?"
            do {
                records.append(try Self.record(row))
            } catch {
                unreadable.append((name, error.description))
            }
        }
        return (records, unreadable)
    }

    /// The row as a record; throws naming the column that is not what the kernel wrote.
    /// Values are read through `DatabaseValue`, which never traps on a type SQLite let in.
    private static func record(_ row: Row) throws(InstanceRecordStoreError) -> InstanceRecord {
        func text(_ column: String) throws(InstanceRecordStoreError) -> String {
            guard let value = String.fromDatabaseValue(row[column] as DatabaseValue) else {
                throw InstanceRecordStoreError("column \(column) is not text")
            }
            return value
        }
        func optional<T: DatabaseValueConvertible>(_ column: String, as type: T.Type) throws(InstanceRecordStoreError) -> T? {
            let value = row[column] as DatabaseValue
            if value.isNull { return nil }
            guard let converted = T.fromDatabaseValue(value) else { throw InstanceRecordStoreError("column \(column) holds \(value)") }
            return converted
        }
        guard let isolation = Isolation(rawValue: try text("isolation")) else {
            throw InstanceRecordStoreError("unknown isolation \"\(try text("isolation"))\"")
        }
        var restart: RestartPolicy?
        if let kind = try optional("restart", as: String.self) {
            let intensity = try optional("restart_intensity", as: Int.self)
            let period = try optional("restart_period", as: Double.self)
            do {
                restart = try RestartPolicy(kind: kind, intensity: intensity, period: period)
            } catch {
                throw InstanceRecordStoreError(error.message)
            }
        }
        guard let grants = decode([String].self, try text("grants")) else {
            throw InstanceRecordStoreError("column grants is not a JSON array of capabilities")
        }
        guard let quotas = decode([String: Int].self, try text("quotas")) else {
            throw InstanceRecordStoreError("column quotas is not a JSON object of limits")
        }
        guard let priority = try optional("priority", as: Int.self), let loadedAt = try optional("loaded_at", as: Double.self) else {
            throw InstanceRecordStoreError("column priority or loaded_at is not a number")
        }
        return InstanceRecord(
            name: try text("name"), plugin: try text("plugin"), sha256: try text("sha256"), config: try text("config"),
            priority: priority, isolation: isolation, restart: restart, grants: grants, quotas: quotas,
            loadedAt: Date(timeIntervalSince1970: loadedAt))
    }

    private static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// Runs `body` on the pool; SQLite's failures become the operator's line.
    private func access<T>(_ body: (DatabasePool) throws -> T) throws(InstanceRecordStoreError) -> T {
        do {
            return try body(database.pool)
        } catch {
            throw InstanceRecordStoreError(StateDatabase.problem(error, path: database.path).description)
        }
    }
}
