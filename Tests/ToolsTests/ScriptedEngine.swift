import Foundation
import KernelCore
import Synchronization

/// An engine whose "model" is a script: for each turn it sees the request's
/// parameters and returns the answer text or the tool calls to make. Every
/// turn's parameters are kept for tests to inspect. For tests of the tool loop.
final class ScriptedEngine: InferenceEngine, @unchecked Sendable {
    typealias Script = @Sendable (InferenceParameters) -> (text: String, calls: [ToolCallRequest])

    let info = EngineInfo(kind: "scripted", model: "script", slots: 1, contextTokens: 4096, endpoint: "in-process")
    private let script: Script
    private let running = Atomic<Bool>(true)
    private let turnsSeen = Mutex<[InferenceParameters]>([])

    init(_ script: @escaping Script) { self.script = script }

    /// The parameters of every turn so far, in order.
    var turns: [InferenceParameters] { turnsSeen.withLock { $0 } }

    func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)? { nil }

    func start(serving scheduler: InferenceScheduler) {
        Thread { [self] in
            while running.load(ordering: .relaxed) {
                guard let request = scheduler.take(waitingUntil: monotonicNanos() + 50_000_000) else { continue }
                request.markStarted(at: monotonicNanos())
                turnsSeen.withLock { $0.append(request.parameters) }
                let (text, calls) = script(request.parameters)
                request.record(tokens: 1, piece: calls.isEmpty ? text : "", at: monotonicNanos())
                request.finish(request.isCancelled ? .cancelled : .stop, toolCalls: calls, at: monotonicNanos())
            }
        }.start()
    }

    func shutdown() { running.store(false, ordering: .relaxed) }
    func stats() -> EngineStats { EngineStats() }
}

/// Collects one request's outcome and its tool steps as they happen.
final class OutcomeCollector: InferenceSink, @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let state = Mutex<(outcome: Result<InferenceResult, KernelError>?, steps: [ToolCallRecord])>((nil, []))

    func received(_ piece: String) {}
    func calledTool(_ record: ToolCallRecord) { state.withLock { $0.steps.append(record) } }
    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        state.withLock { $0.outcome = outcome }
        done.signal()
    }

    /// Waits up to 10 s for the outcome.
    func outcome() -> Result<InferenceResult, KernelError>? {
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        return state.withLock { $0.outcome }
    }

    var streamedSteps: [ToolCallRecord] { state.withLock { $0.steps } }
}
