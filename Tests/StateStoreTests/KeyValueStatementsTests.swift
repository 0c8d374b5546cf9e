import Foundation
import GRDB
import KernelCore
import StateStore
import Testing

/// `SQLiteKeyValueStore`'s single-key paths, which run prepared statements
/// through SQLite's C API on GRDB's connections, against what GRDB reads
/// back from the same real database file.
@Suite struct KeyValueStatementsTests {
    private static func store() throws -> (SQLiteKeyValueStore, StateDatabase) {
        let database = try StateDatabase(path: NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite")
        return (SQLiteKeyValueStore(database: database), database)
    }

    private static func put(_ store: SQLiteKeyValueStore, _ key: String, _ value: String, expected: ExpectedVersion = .any,
                            limits: NamespaceLimits = NamespaceLimits()) throws(KeyValueStoreError) -> UInt64 {
        let bytes = Array(value.utf8)
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(KeyValueStoreError) in
                try store.put(namespace: "n", key: key, value: buffer, expected: expected, limits: limits)
            }
        }
        return try outcome.get()
    }

    @Test func putsAndDeletesKeepTheRowsAndTotalsGRDBReads() throws {
        let (store, database) = try Self.store()
        #expect(try Self.put(store, "a", "one") == 1)
        #expect(try Self.put(store, "a", "three") == 2)
        #expect(try Self.put(store, "b", "") == 1)
        let rows = try database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key, value, version, bytes FROM kv WHERE namespace = 'n' ORDER BY key").map {
                "\($0[0] as String)=\(String(decoding: $0[1] as Data, as: UTF8.self))@\($0[2] as Int)/\($0[3] as Int)"
            }
        }
        #expect(rows == ["a=three@2/6", "b=@1/1"])
        #expect(try store.namespaces() == [NamespaceUsage(namespace: "n", keys: 2, bytes: 7)])
        #expect(try store.get(namespace: "n", key: "b") == KeyValueEntry(value: [], version: 1))
        #expect(try store.delete(namespace: "n", key: "a", expected: .exactly(2)))
        #expect(try store.namespaces() == [NamespaceUsage(namespace: "n", keys: 1, bytes: 1)])
        #expect(try store.delete(namespace: "n", key: "b", expected: .any))
        #expect(try store.delete(namespace: "n", key: "b", expected: .any) == false)
        // The last key gone, the namespace's totals go with it.
        #expect(try store.namespaces().isEmpty)
        #expect(try store.get(namespace: "n", key: "a") == nil)
    }

    @Test func aRefusedPutOrDeleteChangesNothingAndTheNextOneCommits() throws {
        let (store, database) = try Self.store()
        #expect(try Self.put(store, "a", "v") == 1)
        #expect(throws: KeyValueStoreError.conflict(current: 1)) { try Self.put(store, "a", "w", expected: .absent) }
        #expect(throws: KeyValueStoreError.conflict(current: 1)) { try store.delete(namespace: "n", key: "a", expected: .exactly(7)) }
        #expect(throws: KeyValueStoreError.conflict(current: nil)) { try Self.put(store, "z", "w", expected: .exactly(1)) }
        #expect(throws: KeyValueStoreError.quota(quota: "kv_keys", limit: 1, wouldBe: 2)) {
            try Self.put(store, "b", "w", limits: NamespaceLimits(keys: 1))
        }
        #expect(throws: KeyValueStoreError.quota(quota: "kv_bytes", limit: 4, wouldBe: 5)) {
            try Self.put(store, "a", "long", limits: NamespaceLimits(bytes: 4))
        }
        #expect(try store.get(namespace: "n", key: "a") == KeyValueEntry(value: Array("v".utf8), version: 1))
        #expect(try store.namespaces() == [NamespaceUsage(namespace: "n", keys: 1, bytes: 2)])
        // No transaction was left open on the writer: GRDB's own writes still run.
        try database.pool.write { db in try db.execute(sql: "CREATE TABLE probe (x)") }
        #expect(try Self.put(store, "a", "w", expected: .exactly(1)) == 2)
    }

    @Test func anSQLiteErrorRollsBackAndIsNamed() throws {
        let (store, database) = try Self.store()
        #expect(try Self.put(store, "a", "v") == 1)
        try database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
        let error = #expect(throws: KeyValueStoreError.self) { try Self.put(store, "a", "w") }
        guard case .unavailable(let line)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(line.hasPrefix("state database \(database.path) is read-only ("), "\(line)")
        try database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
        #expect(try Self.put(store, "a", "w") == 2)
        #expect(try store.namespaces() == [NamespaceUsage(namespace: "n", keys: 1, bytes: 2)])
    }

    @Test func manyThreadsGettingAndPuttingSeeWholeValues() async throws {
        let (store, _) = try Self.store()
        #expect(try Self.put(store, "k", String(repeating: "0", count: 64)) == 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<50 {
                        if worker % 2 == 0 {
                            _ = try Self.put(store, "k", String(repeating: "\(worker)", count: 64))
                        } else {
                            let entry = try #require(try store.get(namespace: "n", key: "k"))
                            // Never half a value: 64 copies of one digit.
                            #expect(entry.value.count == 64 && Set(entry.value).count == 1, "round \(round)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.get(namespace: "n", key: "k")?.version == 201)  // 1 + 4 writers × 50
    }
}
