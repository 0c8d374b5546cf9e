import AgentOSTesting
import Foundation
import GRDB
import KernelCore
import KernelPOSIX
import StateStore
import Testing

/// Restores through real kernels on one real state database, with real
/// plugins (dlopen): what is recorded, and records the kernel refuses.
@Suite struct InstanceRestoreTests {
    private static func database() throws -> StateDatabase {
        try StateDatabase(path: NSTemporaryDirectory() + "agentos-restore-\(UUID().uuidString).sqlite")
    }

    private static func kernel(_ database: StateDatabase) throws -> Kernel {
        try TestKernel.withPluginFiles(records: SQLiteInstanceRecordStore(database: database))
    }

    @Test func onlyControlAPILoadsAreRecorded_withTheLoadedContentsHash() async throws {
        let database = try Self.database()
        let kernel = try Self.kernel(database)
        _ = try await kernel.lifecycle.load(path: pluginPath("echo"), name: "mine", priority: 4, grants: [.kv])
        _ = try await kernel.lifecycle.load(path: pluginPath("echo"), name: "folder", origin: .pluginsDir)
        _ = try await kernel.lifecycle.load(path: pluginPath("echo"), name: "child", origin: .agent)
        let records = try SQLiteInstanceRecordStore(database: database).all().records
        #expect(records.map(\.name) == ["mine"])
        let record = try #require(records.first)
        #expect(record.priority == 4 && record.grants == ["kv"] && record.isolation == .thread && record.restart == nil)
        #expect(record.sha256.count == 64 && record.sha256.allSatisfy { "0123456789abcdef".contains($0) })
        // The hash is the file's: a second kernel restores it.
        let next = try Self.kernel(database)
        await next.records.restore(through: next.lifecycle)
        #expect(next.records.report.phase == .done)
        #expect(next.records.report.restored == ["mine"] && next.records.report.notRestored.isEmpty)
        #expect(next.instance(named: "mine")?.priority == 4)
        await kernel.lifecycle.shutdown(timeout: 5)
        await next.lifecycle.shutdown(timeout: 5)
    }

    @Test func aRecordWithASettingTheKernelRefusesIsReportedAndTheOthersRestored() async throws {
        let database = try Self.database()
        let kernel = try Self.kernel(database)
        _ = try await kernel.lifecycle.load(path: pluginPath("echo"), name: "good")
        _ = try await kernel.lifecycle.load(path: pluginPath("echo"), name: "badcap")
        _ = try await kernel.lifecycle.load(path: pluginPath("echo"), name: "badquota")
        await kernel.lifecycle.shutdown(timeout: 5)
        try await database.pool.write { db in
            try db.execute(sql: #"UPDATE instances SET grants = '["teleport"]' WHERE name = 'badcap'"#)
            try db.execute(sql: #"UPDATE instances SET quotas = '{"warp_factor": 9}' WHERE name = 'badquota'"#)
        }
        let next = try Self.kernel(database)
        await next.records.restore(through: next.lifecycle)
        let report = next.records.report
        #expect(report.restored == ["good"])
        let reasons = Dictionary(uniqueKeysWithValues: report.notRestored.map { ($0.name, $0.reason) })
        #expect(reasons["badcap"]?.hasPrefix("its record holds a setting this kernel refuses: ") == true, "\(reasons)")
        #expect(reasons["badquota"]?.contains("unknown quota `warp_factor`") == true, "\(reasons)")
        #expect(next.summaries(all: true).first { $0.name == "badcap" }?.state == .failed)
        #expect(next.instance(named: "badcap") == nil)
        await next.lifecycle.shutdown(timeout: 5)
    }
}
