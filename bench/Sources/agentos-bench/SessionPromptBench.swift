import Foundation
import KernelCore
import StateStore

/// The session row: building a session request's prompt from 200 stored
/// turns, the kernel's way (SQLiteSessionStore.history on the state database,
/// then SessionPrompt.plan), p50 of many, against the same two SELECTs through
/// SQLite's C API (sessionsqlite), interleaved round by round.
struct SessionPromptBench {
    /// build/bench (sessionsqlite).
    let baselines: String
    let runs: Int

    static let turns = 200
    static let builds = 2000

    func run(into table: inout ResultTable) async throws {
        let rounds = max(runs, 5)
        let scratch = NSTemporaryDirectory() + "agentos-bench-sessions-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var kernel: [Double] = [], sqlite: [Double] = []
        for round in 0..<rounds {
            kernel.append(try Self.kernelRound(path: "\(scratch)/kernel-\(round).sqlite"))
            let baseline = try await Baseline.run("\(baselines)/sessionsqlite", "\(scratch)/baseline-\(round).sqlite", "\(Self.builds)")
            guard let p50 = baseline["p50_ns"] else { throw BenchError("sessionsqlite printed no figure") }
            sqlite.append(p50)
        }
        table.add("session prompt built from \(Self.turns) stored turns, p50", agentos: kernel.median, baseline: sqlite.median,
                  unit: .nanoseconds, baselineIs: "the same two SELECTs through SQLite's C API", goal: "≤ 1 ms p50", lowerIsBetter: true)
    }

    /// A fresh database with one session of 200 turns of ~200 bytes; the p50 of `builds` prompt builds.
    private static func kernelRound(path: String) throws -> Double {
        let store = SQLiteSessionStore(database: try StateDatabase(path: path))
        let content = String(repeating: "w", count: 200)
        let turns = (1...Self.turns).map { index in
            NewSessionTurn(message: ChatMessage(role: index % 2 == 1 ? "user" : "assistant", content: content), tokens: 50)
        }
        try store.append(agent: "bench", session: "s", policy: .keepRecent, cut: nil, turns: turns, retention: SessionRetention(), now: 0)
        var nanos: [Double] = []
        nanos.reserveCapacity(Self.builds)
        for _ in 0..<Self.builds {
            let start = DispatchTime.now().uptimeNanoseconds
            let history = try store.history(agent: "bench", session: "s") ?? SessionHistory(summary: nil, turns: [])
            // A 2048-token context per sequence (the default model's 8192 over 4 slots), 256 for the answer.
            let plan = try SessionPrompt.plan(
                history: history, summaryTokens: 0, systemTokens: 40, newTokens: 20, budget: 2048 - 256, policy: .keepRecent)
            precondition(plan.kept.count + plan.cut.count == Self.turns)
            nanos.append(Double(DispatchTime.now().uptimeNanoseconds - start))
        }
        return nanos.median
    }
}
