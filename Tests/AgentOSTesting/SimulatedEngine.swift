import Foundation
import KernelCore
import Synchronization

/// The unit tests' engine: deterministic, in this process, planned by the same
/// `BatchPlanner` as the llama.cpp engine.
///
/// A prompt costs one token per word of its messages. The model is a `Script`
/// when one is given: one token of its text, or its tool calls, then `.stop`.
/// Without one, every sequence generates "t0 t1 …" until `maxTokens` (`.length`).
/// A request cancelled while it runs finishes as `.cancelled`.
///
/// `driver` says who runs the steps: the test (`step()`, `runUntilIdle()`, on
/// virtual time that advances `stepNanos` a step), or a thread of the engine's
/// own whenever there is work (on the monotonic clock), for a `Kernel` serving
/// agents. `sequences` and `plans` belong to whoever steps: read them only
/// while the test drives. The rest is thread-safe.
public final class SimulatedEngine: InferenceEngine, @unchecked Sendable {
    /// Who runs the engine's steps.
    public enum Driver: Sendable {
        /// The test, with `step()` and `runUntilIdle()`, on virtual time.
        case test
        /// A thread of the engine's own, from `start(serving:)` to `shutdown()`, on the monotonic clock.
        case thread
    }

    /// The model's answer to a turn's parameters: its text, or the tools to call.
    public typealias Script = @Sendable (InferenceParameters) -> (text: String, calls: [ToolCallRequest])

    /// A request in a slot, with its progress.
    public struct Sequence {
        public let request: InferenceRequest
        public let slot: Int
        public let promptTokens: Int
        public var prefilled = 0
        public var generated = 0
        /// The script's answer, or nil for "t0 t1 …".
        let scripted: (text: String, calls: [ToolCallRequest])?
    }

    public let info: EngineInfo
    public let planner: BatchPlanner
    public let stepNanos: UInt64
    private let driver: Driver
    private let script: Script?
    private var virtualNow: UInt64 = 1_000_000_000
    /// The current time: virtual with `.test`, monotonic with `.thread`.
    public var now: UInt64 { driver == .test ? virtualNow : monotonicNanos() }
    public private(set) var sequences: [Sequence] = []
    /// Every step's plan, for tests of batching.
    public private(set) var plans: [BatchPlanner.Step] = []
    private let takenRequests = Mutex<[InferenceRequest]>([])
    private let active = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)
    private let stopped = DispatchSemaphore(value: 0)
    private var scheduler: InferenceScheduler?

    public init(
        slots: Int = 1, tokenBudget: Int = 512, prefillChunk: Int = 256, stepNanos: UInt64 = 10_000_000,
        driver: Driver = .test, script: Script? = nil, contextTokens: Int = 1 << 20
    ) {
        info = EngineInfo(kind: "simulated", model: "words", slots: slots, contextTokens: contextTokens, endpoint: "in-process")
        planner = BatchPlanner(tokenBudget: tokenBudget, prefillChunk: prefillChunk)
        self.stepNanos = stepNanos
        self.driver = driver
        self.script = script
    }

    /// The ids of the requests the engine took from the scheduler, in order.
    public var taken: [UInt64] { takenRequests.withLock { $0.map(\.id) } }

    /// The parameters of the requests the engine took, in order: the model's turns.
    public var turns: [InferenceParameters] { takenRequests.withLock { $0.map(\.parameters) } }

    public func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)? { nil }

    public func start(serving scheduler: InferenceScheduler) {
        self.scheduler = scheduler
        guard driver == .thread else { return }
        Thread { [self] in
            while running.load(ordering: .relaxed) {
                if sequences.isEmpty {
                    guard let request = scheduler.take(waitingUntil: monotonicNanos() + 50_000_000) else { continue }
                    admit(request)
                }
                step()
            }
            stopped.signal()
        }.start()
    }

    public func shutdown() {
        guard driver == .thread, let scheduler, running.exchange(false, ordering: .relaxed) else { return }
        scheduler.wakeEngine()
        stopped.wait()
    }

    public func stats() -> EngineStats {
        var stats = EngineStats()
        stats.activeSequences = active.load(ordering: .relaxed)
        return stats
    }

    /// Submits a request of `words` prompt words at the current time.
    @discardableResult
    public func submit(
        id: UInt64, agent: String, words: Int = 4, maxTokens: Int = 8, priority: Int = 0, sink: InferenceSink = Recorder()
    ) throws(KernelError) -> InferenceRequest {
        let prompt = Array(repeating: "w", count: words).joined(separator: " ")
        let request = InferenceRequest(
            id: id, agent: agent, owner: 0, priority: priority,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: prompt)], maxTokens: maxTokens),
            submittedAt: now, sink: sink)
        try scheduler!.submit(request)
        return request
    }

    /// One engine step: drop cancelled sequences, admit into free slots, plan, "decode", advance time.
    public func step() {
        guard let scheduler else { return }
        sequences.removeAll { sequence in
            guard sequence.request.isCancelled else { return false }
            sequence.request.finish(.cancelled, at: now)
            return true
        }
        while sequences.count < info.slots, let request = scheduler.take() { admit(request) }
        let plan = planner.plan(sequences.map { .init(slot: $0.slot, pendingPrompt: $0.promptTokens - $0.prefilled) })
        plans.append(plan)
        virtualNow += stepNanos
        for index in sequences.indices {
            let slot = sequences[index].slot
            if let chunk = plan.prefill.first(where: { $0.slot == slot }) {
                sequences[index].prefilled += chunk.tokens
                scheduler.charge(sequences[index].request, promptTokens: chunk.tokens, completionTokens: 0)
                if sequences[index].prefilled < sequences[index].promptTokens { continue }
            } else if !plan.decode.contains(slot) {
                continue
            }
            let sequence = sequences[index]
            let piece = sequence.scripted.map { $0.calls.isEmpty ? $0.text : "" } ?? "t\(sequence.generated) "
            sequence.request.record(tokens: 1, piece: piece, at: now)
            scheduler.charge(sequence.request, promptTokens: 0, completionTokens: 1)
            sequences[index].generated += 1
        }
        sequences.removeAll { sequence in
            let request = sequence.request
            if let scripted = sequence.scripted, sequence.generated > 0 {
                request.finish(request.isCancelled ? .cancelled : .stop, toolCalls: scripted.calls, at: now)
            } else if sequence.generated >= request.parameters.maxTokens {
                request.finish(request.isCancelled ? .cancelled : .length, at: now)
            } else {
                return false
            }
            return true
        }
        active.store(sequences.count, ordering: .relaxed)
    }

    /// Steps until nothing is queued or running, at most `limit` steps.
    public func runUntilIdle(limit: Int = 100_000) {
        for _ in 0..<limit where !sequences.isEmpty || scheduler!.queueLength > 0 { step() }
    }

    /// Puts `request` in a free slot; asks the script for its answer.
    private func admit(_ request: InferenceRequest) {
        takenRequests.withLock { $0.append(request) }
        request.markStarted(at: now)
        let words = request.parameters.messages.reduce(0) { $0 + $1.content.split(separator: " ").count }
        request.setPromptTokens(words)
        let slot = (0..<info.slots).first { slot in !sequences.contains { $0.slot == slot } }!
        sequences.append(Sequence(request: request, slot: slot, promptTokens: words, scripted: script?(request.parameters)))
        active.store(sequences.count, ordering: .relaxed)
    }
}
