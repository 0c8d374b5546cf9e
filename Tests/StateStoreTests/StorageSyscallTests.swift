import AgentOSTesting
import Foundation
import GRDB
import KernelCore
import KernelPOSIX
import StateStore
import Testing

/// The kv_* syscalls through a real kernel, the real `kvprobe` fixture
/// (dlopen) and a real state database in a temporary folder.
@Suite struct StorageSyscallTests {
    /// A fresh state database and a kernel storing in it.
    private static func kernel(audit: AuditLog? = nil) throws -> (Kernel, StateDatabase) {
        let database = try StateDatabase(path: NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite")
        let kernel = try TestKernel.withPluginFiles(audit: audit, storage: StorageService(store: SQLiteKeyValueStore(database: database)))
        return (kernel, database)
    }

    private static func ask(_ kernel: Kernel, _ agent: String, _ command: String) async throws -> String {
        let answer = try await kernel.messages.deliver(to: agent, body: Array(command.utf8), wait: true, timeoutMs: 20_000)
        return String(decoding: answer.reply ?? [], as: UTF8.self)
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    private static func hex(_ text: String) -> String { hex(text.utf8) }

    /// Checks that the kernel still answers and another agent still stores.
    private static func expectUndisturbed(_ kernel: Kernel) async throws {
        _ = try? await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "bystander", grants: [.kv])
        #expect(try await ask(kernel, "bystander", "put - \(hex("k")) any fine") == "AOS_OK|1")
        #expect(try await ask(kernel, "bystander", "get - \(hex("k"))").hasPrefix("AOS_OK|1|fine"))
    }

    @Test func putThenGetReturnsTheValueAndItsVersion() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("greeting")) any hello world") == "AOS_OK|1")
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("greeting")) any hello again") == "AOS_OK|2")
        #expect(try await Self.ask(kernel, "p", "get - \(Self.hex("greeting"))") == "AOS_OK|2|hello again")
        #expect(try kernel.storage.get(namespace: "p", key: "greeting") == KeyValueEntry(value: Array("hello again".utf8), version: 2))
        #expect(try await Self.ask(kernel, "p", "del - \(Self.hex("greeting")) any") == "AOS_OK")
        #expect(try await Self.ask(kernel, "p", "get - \(Self.hex("greeting"))").hasPrefix("AOS_ENOTFOUND|namespace p has no key \"greeting\""))
        #expect(try await Self.ask(kernel, "p", "del - \(Self.hex("greeting")) any").hasPrefix("AOS_ENOTFOUND|"))
    }

    @Test func emptyKeyIsInvalid() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "put -  any v") == "AOS_EINVAL|kv_put: the key is empty: use 1 to 512 bytes of UTF-8")
        #expect(try await Self.ask(kernel, "p", "get - ").hasPrefix("AOS_EINVAL|kv_get: the key is empty"))
        try await Self.expectUndisturbed(kernel)
    }

    @Test func keyPastTheLimitIsTooBigAndOneAtTheLimitIsStored() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        let longest = String(repeating: "é", count: 256)  // 512 bytes
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex(longest)) any v") == "AOS_OK|1")
        #expect(
            try await Self.ask(kernel, "p", "put - \(Self.hex(longest + "x")) any v")
                == "AOS_ETOOBIG|kv_put: the key is 513 bytes; keys are at most 512 bytes of UTF-8")
        try await Self.expectUndisturbed(kernel)
    }

    @Test(arguments: [[0xFF, 0xFE], [0x61, 0xC3], [0xED, 0xA0, 0x80]] as [[UInt8]])
    func keyThatIsNotUTF8IsInvalid(_ key: [UInt8]) async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex(key)) any v").hasPrefix("AOS_EINVAL|kv_put: the key is not valid UTF-8"))
        #expect(try kernel.storage.namespaces().isEmpty)
        try await Self.expectUndisturbed(kernel)
    }

    @Test func valuePastTheLimitIsTooBigAndOneAtTheLimitIsStored() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "putn - \(Self.hex("big")) 1048576") == "AOS_OK|1")
        #expect(
            try await Self.ask(kernel, "p", "putn - \(Self.hex("big")) 1048577")
                == "AOS_ETOOBIG|the value is 1048577 bytes; values are at most 1048576 bytes")
        #expect(try kernel.storage.get(namespace: "p", key: "big").value.count == 1_048_576)
        try await Self.expectUndisturbed(kernel)
    }

    @Test func fullKeyQuotaRefusesANewKeyButNotAnUpdateAndIsAudited() async throws {
        let audit = AuditLog(sink: try AuditFile(path: NSTemporaryDirectory() + "agentos-audit-\(UUID().uuidString).jsonl"))
        let (kernel, _) = try Self.kernel(audit: audit)
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        _ = try kernel.quotas.set("kv_keys", "2", for: "p")
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("a")) any 1") == "AOS_OK|1")
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("b")) any 2") == "AOS_OK|1")
        #expect(
            try await Self.ask(kernel, "p", "put - \(Self.hex("c")) any 3")
                == "AOS_EQUOTA|quota exceeded: the namespace would hold 3 (kv_keys of p is 2)")
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("a")) any updated") == "AOS_OK|2")
        let entry = try kernel.quotas.report(of: "p").entries.first { $0.key == "kv_keys" }
        #expect(entry?.refusals == 1 && entry?.use == 2 && entry?.limit == 2)
        audit.flush()
        #expect(audit.records(agent: "p").contains { $0.quota == "kv_keys" && $0.syscall == "kv_put" && $0.decision == .deny })
        try await Self.expectUndisturbed(kernel)
    }

    @Test func fullByteQuotaRefusesAGrowingPutButNotAShrinkingOne() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        _ = try kernel.quotas.set("kv_bytes", "100", for: "p")
        #expect(try await Self.ask(kernel, "p", "putn - \(Self.hex("k")) 90") == "AOS_OK|1")
        #expect(try await Self.ask(kernel, "p", "putn - \(Self.hex("k")) 100").hasPrefix("AOS_EQUOTA|quota exceeded: the namespace would hold 101"))
        #expect(try await Self.ask(kernel, "p", "putn - \(Self.hex("j")) 20").hasPrefix("AOS_EQUOTA|"))
        #expect(try await Self.ask(kernel, "p", "putn - \(Self.hex("k")) 10") == "AOS_OK|2")
        #expect(try kernel.storage.namespaces() == [NamespaceUsage(namespace: "p", keys: 1, bytes: 11)])
    }

    @Test func compareAndSetWritesOnlyAtTheExpectedVersion() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        let key = Self.hex("counter")
        #expect(try await Self.ask(kernel, "p", "put - \(key) 0 one") == "AOS_OK|1")
        #expect(try await Self.ask(kernel, "p", "put - \(key) 0 again") == "AOS_ECONFLICT|kv_put: the key is at version 1, not the one expected")
        #expect(try await Self.ask(kernel, "p", "put - \(key) 1 two") == "AOS_OK|2")
        #expect(try await Self.ask(kernel, "p", "put - \(key) 1 stale").hasPrefix("AOS_ECONFLICT|"))
        #expect(try await Self.ask(kernel, "p", "del - \(key) 1").hasPrefix("AOS_ECONFLICT|"))
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("none")) 3 x") == "AOS_ECONFLICT|kv_put: the key is at version none (absent), not the one expected")
        #expect(try await Self.ask(kernel, "p", "get - \(key)") == "AOS_OK|2|two")
        #expect(try await Self.ask(kernel, "p", "del - \(key) 2") == "AOS_OK")
    }

    @Test func twoAgentsRacingCompareAndSetOnOneKeyExactlyOneWins() async throws {
        let (kernel, _) = try Self.kernel()
        for name in ["racer-a", "racer-b"] {
            _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: name, grants: [.kvNamespace("shared", readOnly: false)])
        }
        for round in 0..<40 {
            let key = Self.hex("slot\(round)")
            async let first = Self.ask(kernel, "racer-a", "put shared \(key) 0 a")
            async let second = Self.ask(kernel, "racer-b", "put shared \(key) 0 b")
            let answers = try await [first, second]
            #expect(answers.filter { $0 == "AOS_OK|1" }.count == 1, "round \(round): \(answers)")
            #expect(answers.filter { $0.hasPrefix("AOS_ECONFLICT|") }.count == 1, "round \(round): \(answers)")
            let winner = answers[0] == "AOS_OK|1" ? "a" : "b"
            #expect(try kernel.storage.get(namespace: "shared", key: "slot\(round)") == KeyValueEntry(value: Array(winner.utf8), version: 1))
        }
        // A counter both increment by compare-and-set: no increment is lost.
        _ = try kernel.storage.put(namespace: "shared", key: "count", value: Array("0".utf8))
        async let a: Void = Self.increment(kernel, "racer-a", times: 25)
        async let b: Void = Self.increment(kernel, "racer-b", times: 25)
        _ = try await (a, b)
        #expect(try kernel.storage.get(namespace: "shared", key: "count").value == Array("50".utf8))
    }

    /// Adds one to shared/count `times` times, retrying each on a conflict.
    private static func increment(_ kernel: Kernel, _ agent: String, times: Int) async throws {
        for _ in 0..<times {
            while true {
                let read = try await ask(kernel, agent, "get shared \(hex("count"))").split(separator: "|")
                let (version, value) = (read[1], Int(read[2])!)
                let answer = try await ask(kernel, agent, "put shared \(hex("count")) \(version) \(value + 1)")
                if answer.hasPrefix("AOS_OK") { break }
                #expect(answer.hasPrefix("AOS_ECONFLICT|"))
            }
        }
    }

    @Test func namespacesNeedTheirCapabilityAndReadOnlyRefusesWrites() async throws {
        let audit = AuditLog(sink: try AuditFile(path: NSTemporaryDirectory() + "agentos-audit-\(UUID().uuidString).jsonl"))
        let (kernel, _) = try Self.kernel(audit: audit)
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "owner", grants: [.kv])
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "reader", grants: [.kvNamespace("owner", readOnly: true)])
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "stranger")
        #expect(try await Self.ask(kernel, "owner", "put - \(Self.hex("k")) any v") == "AOS_OK|1")
        #expect(try await Self.ask(kernel, "reader", "get owner \(Self.hex("k"))") == "AOS_OK|1|v")
        #expect(try await Self.ask(kernel, "reader", "list owner - - 10").hasPrefix("AOS_OK|{\"keys\":[{\"key\":\"k\""))
        #expect(
            try await Self.ask(kernel, "reader", "put owner \(Self.hex("k")) any w")
                == "AOS_EPERM|permission denied: reader does not hold kv:owner (grant it with `agentctl grant reader kv:owner` or in policy.yaml)")
        #expect(try await Self.ask(kernel, "reader", "put - \(Self.hex("k")) any w").hasPrefix("AOS_EPERM|permission denied: reader does not hold kv "))
        #expect(try await Self.ask(kernel, "stranger", "get owner \(Self.hex("k"))").hasPrefix("AOS_EPERM|permission denied: stranger does not hold kv:owner:ro"))
        #expect(try await Self.ask(kernel, "stranger", "get bad/name \(Self.hex("k"))").hasPrefix("AOS_EINVAL|kv_get: invalid storage namespace"))
        #expect(try kernel.storage.get(namespace: "owner", key: "k").value == Array("v".utf8))
        audit.flush()
        #expect(audit.records(agent: "reader").contains { $0.capability == "kv:owner" && $0.syscall == "kv_put" })
        #expect(audit.records(agent: "stranger").contains { $0.capability == "kv:owner:ro" && $0.syscall == "kv_get" })
    }

    @Test func listPagesByPrefixInByteOrder() async throws {
        let (kernel, _) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        for key in ["a3", "a1", "b1", "a2", "a10", "ä"] {
            #expect(try await Self.ask(kernel, "p", "put - \(Self.hex(key)) any \(key)") == "AOS_OK|1")
        }
        #expect(
            try await Self.ask(kernel, "p", "list - a - 2")
                == #"AOS_OK|{"keys":[{"key":"a1","version":1,"bytes":2},{"key":"a10","version":1,"bytes":3}],"next":"a10"}"#)
        #expect(
            try await Self.ask(kernel, "p", "list - a a10 2")
                == #"AOS_OK|{"keys":[{"key":"a2","version":1,"bytes":2},{"key":"a3","version":1,"bytes":2}],"next":null}"#)
        let all = try kernel.storage.list(namespace: "p")
        #expect(all.keys.map(\.key) == ["a1", "a10", "a2", "a3", "b1", "ä"])
        #expect(all.next == nil)
    }

    @Test func corruptDatabaseIsNamedAtOpenAndTheKernelRunsWithoutStorage() async throws {
        let path = NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let failure: StateStoreError
        do {
            _ = try StateDatabase(path: path)
            Issue.record("a corrupt file opened")
            return
        } catch {
            failure = error
        }
        guard case .corrupt = failure else {
            Issue.record("expected .corrupt, got \(failure)")
            return
        }
        #expect(failure.description.hasPrefix("state database \(path) is corrupt ("))
        let kernel = try TestKernel.withPluginFiles(storage: StorageService(store: nil, reason: failure.description))
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("k")) any v") == "AOS_ESTORAGE|kv_put: storage is unavailable: \(failure.description)")
        #expect(try await Self.ask(kernel, "p", "get - \(Self.hex("k"))").hasPrefix("AOS_ESTORAGE|"))
        // The agent, and the kernel's other syscalls, carry on.
        #expect(try await Self.ask(kernel, "p", "nonsense") .hasPrefix("AOS_EINVAL"))
    }

    @Test func fullDatabaseRefusesWritesByNameAndKeepsWhatItHolds() async throws {
        let (kernel, database) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("before")) any kept") == "AOS_OK|1")
        // The writer's page limit: the file cannot grow past its current size.
        try await database.pool.write { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        let answer = try await Self.ask(kernel, "p", "batch - 200 4096")
        #expect(answer.hasPrefix("AOS_ESTORAGE|kv_put: storage is unavailable: state database \(database.path) is full ("), "\(answer)")
        #expect(try await Self.ask(kernel, "p", "get - \(Self.hex("before"))") == "AOS_OK|1|kept")
        let usage = try kernel.storage.namespaces()
        #expect(usage.first?.keys == (try kernel.storage.list(namespace: "p").keys.count))
    }

    @Test func readOnlyDatabaseRefusesWritesByNameAndStillReads() async throws {
        let (kernel, database) = try Self.kernel()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(try await Self.ask(kernel, "p", "put - \(Self.hex("k")) any v") == "AOS_OK|1")
        // As root, file modes do not stop writes: make the writer's connection read-only instead.
        try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
        #expect(
            try await Self.ask(kernel, "p", "put - \(Self.hex("k")) any w")
                .hasPrefix("AOS_ESTORAGE|kv_put: storage is unavailable: state database \(database.path) is read-only ("))
        #expect(try await Self.ask(kernel, "p", "get - \(Self.hex("k"))") == "AOS_OK|1|v")
        #expect(try await Self.ask(kernel, "p", "list - - - 0").hasPrefix("AOS_OK|{\"keys\":[{\"key\":\"k\""))
    }

    @Test func kernelWithoutAStateDatabaseSaysSo() async throws {
        let kernel = try TestKernel.withPluginFiles()
        _ = try await kernel.lifecycle.load(path: pluginPath("kvprobe"), name: "p", grants: [.kv])
        #expect(
            try await Self.ask(kernel, "p", "list - - - 0")
                == "AOS_ESTORAGE|kv_list: storage is unavailable: the kernel was started without a state database")
    }

    @Test func valuesSurviveReopeningAndMigrationsRunOnce() throws {
        let path = NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite"
        do {
            let store = SQLiteKeyValueStore(database: try StateDatabase(path: path))
            _ = try Array("kept".utf8).withUnsafeBytes { bytes in
                try store.put(namespace: "n", key: "k", value: bytes, expected: .any, limits: NamespaceLimits())
            }
        }
        let database = try StateDatabase(path: path)
        #expect(try SQLiteKeyValueStore(database: database).get(namespace: "n", key: "k") == KeyValueEntry(value: Array("kept".utf8), version: 1))
        let applied = try database.pool.read { db in try StateDatabase.migrator.appliedIdentifiers(db) }
        #expect(Set(applied) == Set(StateDatabase.migrator.migrations) && applied.contains("v1: kv") && applied.contains("v3: sessions"))
        let mode = try database.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }
}
