import AgentOSTesting
import ControlAPI
import ControlClient
import Foundation
import Synchronization
import Testing
@testable import Evaluation

/// A stand-in agent: answers each input with `answer`, counts how many are in flight.
/// It holds every answer until `overlap` inputs have been in flight at once (for
/// at most 10 s), so a test sees concurrent cases overlap without guessing how long they take.
final class FakeAgent: AgentConnection {
    private struct State {
        var inFlight = 0
        var mostInFlight = 0
        var asked: [String] = []
    }
    private let state = Mutex(State())
    let answer: @Sendable (String) async throws -> String
    let loaded: Bool
    let overlap: Int

    init(loaded: Bool = true, overlap: Int = 1, answer: @escaping @Sendable (String) async throws -> String) {
        self.loaded = loaded
        self.overlap = overlap
        self.answer = answer
    }

    var mostInFlight: Int { state.withLock { $0.mostInFlight } }
    var asked: [String] { state.withLock { $0.asked } }

    func checkTarget(_ target: String) async throws {
        guard loaded else { throw EvaluationError("no agent named \(target) is loaded (see agentctl ps)") }
    }

    func ask(_ target: String, _ input: String, timeoutMs: Int) async throws -> SendResponse {
        state.withLock {
            $0.inFlight += 1
            $0.mostInFlight = max($0.mostInFlight, $0.inFlight)
            $0.asked.append(input)
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        _ = await waitUntil { mostInFlight >= overlap }
        let reply = try await answer(input)
        return SendResponse(messageId: 1, reply: reply, elapsedSeconds: 0.5, inferenceRequests: [UInt64(input.count)])
    }

    func trace(_ id: UInt64) async throws -> RequestTraceInfo {
        guard id != 99 else { throw ControlClientError.api(status: 404, code: "not_found", message: "no trace") }
        return RequestTraceInfo(requestId: id, agent: "support", events: [
            .init(atMs: 0, event: "scheduled", durationMs: nil, detail: "100 prompt tokens"),
            .init(atMs: 1, event: "finished", durationMs: nil, detail: "stop, 10 tokens generated"),
            .init(atMs: 2, event: "tool", durationMs: 0.1, detail: #"catalog.lookup_product({"sku":"A-200"}) → {}"#),
        ])
    }
}

@Suite struct RunnerTests {
    static func suite(_ inputs: [String], repeat repetitions: Int = 1) -> Suite {
        Suite(
            path: "s.yaml", target: "support", defaults: Defaults(timeoutMs: 1000, repeat: repetitions),
            cases: inputs.map { EvalCase(description: $0, input: $0, assertions: [Assertion(.contains, .scalar("ok"))]) })
    }

    @Test func casesRunAtMostConcurrencyAtOnceAndComeBackInOrder() async throws {
        let agent = FakeAgent(overlap: 3) { $0.hasPrefix("good") ? "ok" : "nope" }
        let inputs = (0..<12).map { $0 % 3 == 0 ? "bad \($0)" : "good \($0)" }
        let done = Mutex(0)
        let results = try await Runner(connection: agent, concurrency: 3).run(Self.suite(inputs)) { _, count, total in
            done.withLock { $0 = count }
            #expect(total == 12)
        }
        #expect(agent.mostInFlight == 3)
        #expect(done.withLock { $0 } == 12)
        #expect(results.map(\.caseIndex) == Array(0..<12))
        #expect(results.map(\.passed) == inputs.map { $0.hasPrefix("good") })
        #expect(results[1].observation.latencyMs == 500)
        #expect(results[1].observation.promptTokens == 100 && results[1].observation.generatedTokens == 10)
        #expect(results[1].observation.toolCalls?.map(\.name) == ["catalog.lookup_product"])
    }

    @Test func repeatsRunEveryCaseAgain() async throws {
        let agent = FakeAgent { _ in "ok" }
        let results = try await Runner(connection: agent, concurrency: 4).run(Self.suite(["a", "b"], repeat: 2), repeat: 3)
        #expect(results.map { [$0.caseIndex, $0.repetition] } == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
        #expect(agent.asked.count == 6)
    }

    @Test func aCaseWithoutAnAnswerFailsAndTheRunGoesOn() async throws {
        let agent = FakeAgent { input in
            if input == "slow" { throw CaseFailure("no answer within 1000 ms") }
            return "ok"
        }
        let results = try await Runner(connection: agent).run(Self.suite(["a", "slow", "b"]))
        #expect(results.map(\.passed) == [true, false, true])
        #expect(results[1].observation.failure == "no answer within 1000 ms")
        #expect(results[1].observation.toolCalls == nil)
    }

    @Test func aMissingTraceLeavesToolCallsAndTokensUnknown() async throws {
        let agent = FakeAgent { _ in "ok" }
        let padded = String(repeating: "x", count: 99)  // its request id is 99, whose trace is gone
        let results = try await Runner(connection: agent).run(Self.suite([padded]))
        #expect(results[0].passed)
        #expect(results[0].observation.toolCalls == nil && results[0].observation.generatedTokens == nil)
    }

    @Test func anyOtherErrorEndsTheRun() async {
        let agent = FakeAgent { _ in throw ControlClientError.kernelNotRunning(socketPath: "/x.sock") }
        await #expect(throws: ControlClientError.self) { try await Runner(connection: agent).run(Self.suite(["a", "b"])) }
    }

    @Test func anUnknownTargetIsRefusedBeforeAnythingIsSent() async {
        let agent = FakeAgent(loaded: false) { _ in "ok" }
        await #expect(throws: EvaluationError("no agent named support is loaded (see agentctl ps)")) {
            try await Runner(connection: agent).run(Self.suite(["a"]))
        }
        #expect(agent.asked.isEmpty)
    }
}
