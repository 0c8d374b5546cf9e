import Foundation
import GRDB
import KernelCore
import StateStore
import Testing

/// The `instances` table of a real state database in a temporary folder.
@Suite struct InstanceRecordStoreTests {
    private static func database() throws -> StateDatabase {
        try StateDatabase(path: NSTemporaryDirectory() + "agentos-records-\(UUID().uuidString).sqlite")
    }

    private static func record(_ name: String, loadedAt: Double) -> InstanceRecord {
        InstanceRecord(
            name: name, plugin: "/plugins/\(name).so", sha256: String(repeating: "ab", count: 32), config: "start=7",
            priority: 3, isolation: .process, restart: RestartPolicy(kind: .transient, intensity: 5, period: 2.5),
            grants: ["kv", "send:echo-*"], quotas: ["mailbox_depth": 64, "kv_keys": 10],
            loadedAt: Date(timeIntervalSince1970: loadedAt))
    }

    @Test func recordsComeBackWhole_oldestFirst_andASaveKeepsTheirPlace() throws {
        let store = SQLiteInstanceRecordStore(database: try Self.database())
        let older = Self.record("older", loadedAt: 100)
        var newer = Self.record("newer", loadedAt: 200)
        newer.isolation = .thread
        newer.restart = nil
        newer.quotas = [:]
        try store.save(newer)
        try store.save(older)
        #expect(try store.all().records == [older, newer])
        // A settings change replaces the row and keeps its loaded_at.
        var changed = older
        changed.grants = ["kv"]
        changed.loadedAt = Date(timeIntervalSince1970: 300)
        try store.save(changed)
        var expected = changed
        expected.loadedAt = older.loadedAt
        #expect(try store.all().records == [expected, newer])
        #expect(try store.remove(name: "older"))
        #expect(try !store.remove(name: "older"))
        #expect(try store.all().records == [newer])
    }

    @Test func rowsTheKernelDidNotWriteAreReportedByName_neverDropped() throws {
        let database = try Self.database()
        let store = SQLiteInstanceRecordStore(database: database)
        try store.save(Self.record("good", loadedAt: 1))
        try database.pool.write { db in
            let insert = """
                INSERT INTO instances (name, plugin, sha256, config, priority, isolation, restart, restart_intensity,
                                       restart_period, grants, quotas, loaded_at)
                VALUES (?, '/p.so', 'x', '', ?, ?, ?, ?, NULL, ?, ?, ?)
                """
            try db.execute(sql: insert, arguments: ["vm", 0, "vm", nil, nil, "[]", "{}", 2])
            try db.execute(sql: insert, arguments: ["bad-grants", 0, "thread", nil, nil, "kv", "{}", 3])
            try db.execute(sql: insert, arguments: ["bad-quotas", 0, "thread", nil, nil, "[]", "[1]", 4])
            try db.execute(sql: insert, arguments: ["bad-restart", 0, "process", "sometimes", 3, "[]", "{}", 5])
            try db.execute(sql: insert, arguments: ["bad-priority", "high", "thread", nil, nil, "[]", "{}", 6])
        }
        let found = try store.all()
        #expect(found.records.map(\.name) == ["good"])
        let problems = Dictionary(uniqueKeysWithValues: found.unreadable.map { ($0.name, $0.problem) })
        #expect(problems["vm"] == "unknown isolation \"vm\"")
        #expect(problems["bad-grants"] == "column grants is not a JSON array of capabilities")
        #expect(problems["bad-quotas"] == "column quotas is not a JSON object of limits")
        #expect(problems["bad-restart"]?.contains("unknown restart policy \"sometimes\"") == true)
        #expect(problems["bad-priority"]?.contains("column priority holds") == true, "\(problems)")
    }

    @Test func theMigrationsAddTheInstancesTable() throws {
        let database = try Self.database()
        let applied = try database.pool.read { db in try StateDatabase.migrator.appliedMigrations(db) }
        #expect(applied.contains("v2: instances"))
        #expect(try database.pool.read { db in try db.tableExists("instances") })
    }
}
