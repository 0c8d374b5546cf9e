import Foundation
import KernelPOSIX
import Testing
@testable import KernelCore

/// The audit log: appended JSON Lines, filters, and coalesced repeats.
@Suite struct AuditLogTests {
    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString.prefix(8)).jsonl").path
    }

    @Test func writesOneJSONObjectPerLineAndReadsThemBack() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = AuditLog(sink: try AuditFile(path: path))
        log.record(AuditRecord(agent: "support", syscall: "tool_call", capability: "tool:admin.refund", decision: .deny, reason: "not held"))
        log.record(AuditRecord(agent: "support", syscall: "agentctl", capability: "infer", decision: .grant, reason: "granted"))
        log.record(AuditRecord(agent: "pinger", syscall: "infer", quota: "token_budget", decision: .deny, reason: "used up"))
        log.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["agent"] as? String == "support")
        #expect(first?["decision"] as? String == "deny")
        #expect(first?["capability"] as? String == "tool:admin.refund")
        #expect((first?["time"] as? String)?.hasSuffix("Z") == true)
        #expect(log.records().count == 3)
        #expect(log.records(agent: "support").map(\.decision) == [.deny, .grant])
        #expect(log.records(agent: "pinger").first?.quota == "token_budget")
        #expect(log.records(since: Date().addingTimeInterval(60)).isEmpty)
        #expect(log.records(since: Date().addingTimeInterval(-60)).count == 3)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func appendsToWhatIsThereAndSkipsLinesThatAreNotRecords() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "not json\n{\"half\":\n".write(toFile: path, atomically: false, encoding: .utf8)
        let log = AuditLog(sink: try AuditFile(path: path))
        log.record(AuditRecord(agent: "a", syscall: "send", capability: "send:b", decision: .deny, reason: "r"))
        #expect(log.records().map(\.agent) == ["a"])
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("not json\n"))
    }

    /// A loop denied the same thing writes one line a second, with the count of the rest.
    @Test func coalescesIdenticalDenialsWithinASecond() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = AuditLog(sink: try AuditFile(path: path))
        let denial = AuditRecord(agent: "loop", syscall: "send", capability: "send:x", decision: .deny, reason: "not held")
        for step in 0..<1000 { log.record(denial, now: 10_000_000_000 + UInt64(step) * 100_000) }  // 0.1 s in all
        log.record(AuditRecord(agent: "loop", syscall: "send", capability: "send:y", decision: .deny, reason: "other"), now: 10_000_000_000)
        log.record(denial, now: 11_500_000_000)  // past the second: written, with the count
        let records = log.records()
        #expect(records.count == 3)
        #expect(records[0].repeated == nil)
        #expect(records[2].repeated == 999)
        log.record(denial, now: 11_600_000_000)
        log.record(denial, now: 11_700_000_000)
        let flushed = log.records()
        #expect(flushed.count == 4)
        #expect(flushed.last?.repeated == 2)
    }

    @Test func grantsAreNeverCoalesced() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = AuditLog(sink: try AuditFile(path: path))
        let grant = AuditRecord(agent: "a", syscall: "agentctl", capability: "infer", decision: .grant, reason: "r")
        for _ in 0..<5 { log.record(grant, now: 1) }
        #expect(log.records().count == 5)
    }

    @Test func refusesAPathItCannotOpen() {
        #expect(throws: KernelError.self) { try AuditFile(path: "/nonexistent-dir/audit.jsonl") }
    }
}
