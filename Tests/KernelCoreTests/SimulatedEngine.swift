import KernelCore
import Synchronization

/// A deterministic engine on virtual time, for unit tests of scheduling.
///
/// Nothing runs by itself: each `step()` is one engine step, planned by the
/// same `BatchPlanner` as the llama.cpp engine. A prompt costs one token per
/// word of its messages; every sequence generates "t0 t1 …" until
/// `maxTokens`. Virtual time advances `stepNanos` per step.
final class SimulatedEngine: InferenceEngine, @unchecked Sendable {
    struct Sequence {
        let request: InferenceRequest
        let slot: Int
        let promptTokens: Int
        var prefilled = 0
        var generated = 0
    }

    let info: EngineInfo
    let planner: BatchPlanner
    let stepNanos: UInt64
    private(set) var now: UInt64 = 1_000_000_000
    private(set) var sequences: [Sequence] = []
    /// Every step's plan, for tests of batching.
    private(set) var plans: [BatchPlanner.Step] = []
    /// The ids of the requests the engine took from the scheduler, in order.
    private(set) var taken: [UInt64] = []
    private var scheduler: InferenceScheduler?

    init(slots: Int, tokenBudget: Int = 512, prefillChunk: Int = 256, stepNanos: UInt64 = 10_000_000) {
        info = EngineInfo(kind: "simulated", model: "words", slots: slots, contextTokens: 1 << 20, endpoint: "in-process")
        planner = BatchPlanner(tokenBudget: tokenBudget, prefillChunk: prefillChunk)
        self.stepNanos = stepNanos
    }

    func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)? { nil }
    func start(serving scheduler: InferenceScheduler) { self.scheduler = scheduler }
    func shutdown() {}
    func stats() -> EngineStats {
        var stats = EngineStats()
        stats.activeSequences = sequences.count
        return stats
    }

    /// Submits a request at the current virtual time.
    @discardableResult
    func submit(
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
    func step() {
        guard let scheduler else { return }
        sequences.removeAll { sequence in
            guard sequence.request.isCancelled else { return false }
            sequence.request.finish(.cancelled, at: now)
            return true
        }
        while sequences.count < info.slots, let request = scheduler.take() {
            taken.append(request.id)
            request.markStarted(at: now)
            let words = request.parameters.messages.reduce(0) { $0 + $1.content.split(separator: " ").count }
            request.setPromptTokens(words)
            let slot = (0..<info.slots).first { slot in !sequences.contains { $0.slot == slot } }!
            sequences.append(Sequence(request: request, slot: slot, promptTokens: words))
        }
        let plan = planner.plan(sequences.map { .init(slot: $0.slot, pendingPrompt: $0.promptTokens - $0.prefilled) })
        plans.append(plan)
        now += stepNanos
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
            sequence.request.record(tokens: 1, piece: "t\(sequence.generated) ", at: now)
            scheduler.charge(sequence.request, promptTokens: 0, completionTokens: 1)
            sequences[index].generated += 1
        }
        sequences.removeAll { sequence in
            guard sequence.generated >= sequence.request.parameters.maxTokens else { return false }
            sequence.request.finish(.length, at: now)
            return true
        }
    }

    /// Steps until nothing is queued or running, at most `limit` steps.
    func runUntilIdle(limit: Int = 100_000) {
        for _ in 0..<limit where !sequences.isEmpty || scheduler!.queueLength > 0 { step() }
    }
}

/// Records what a request produced, and every finish in order across requests.
final class Recorder: InferenceSink, @unchecked Sendable {
    private let state = Mutex<(pieces: [String], outcome: Result<InferenceResult, KernelError>?)>(([], nil))
    private let journal: FinishJournal?

    init(journal: FinishJournal? = nil) { self.journal = journal }

    func received(_ piece: String) { state.withLock { $0.pieces.append(piece) } }
    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        state.withLock { $0.outcome = outcome }
        if case .success(let result) = outcome { journal?.append(result) }
    }

    var pieces: [String] { state.withLock { $0.pieces } }
    var outcome: Result<InferenceResult, KernelError>? { state.withLock { $0.outcome } }
}

/// The results of many requests in the order they finished.
final class FinishJournal: @unchecked Sendable {
    private let results = Mutex<[InferenceResult]>([])
    func append(_ result: InferenceResult) { results.withLock { $0.append(result) } }
    var all: [InferenceResult] { results.withLock { $0 } }
}
