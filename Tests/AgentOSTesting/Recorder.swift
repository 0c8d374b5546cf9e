import KernelCore
import Synchronization

/// An `InferenceSink` that records what one request produced: its pieces, the
/// tool calls its loop ran, and its outcome; with a journal, also every finish
/// in order across requests. Thread-safe.
public final class Recorder: InferenceSink, Sendable {
    private struct State {
        var pieces: [String] = []
        var steps: [ToolCallRecord] = []
        var outcome: Result<InferenceResult, KernelError>?
    }

    private let state = Mutex(State())
    private let journal: FinishJournal?

    public init(journal: FinishJournal? = nil) { self.journal = journal }

    public func received(_ piece: String) { state.withLock { $0.pieces.append(piece) } }
    public func calledTool(_ record: ToolCallRecord) { state.withLock { $0.steps.append(record) } }
    public func finished(_ outcome: Result<InferenceResult, KernelError>) {
        state.withLock { $0.outcome = outcome }
        if case .success(let result) = outcome { journal?.append(result) }
    }

    /// The pieces of text received so far.
    public var pieces: [String] { state.withLock { $0.pieces } }
    /// The tool calls the request's loop ran so far, as they were streamed.
    public var streamedSteps: [ToolCallRecord] { state.withLock { $0.steps } }
    /// The outcome, nil while the request runs.
    public var outcome: Result<InferenceResult, KernelError>? { state.withLock { $0.outcome } }

    /// The outcome, waiting up to `seconds` for it; nil if none came.
    public func outcome(within seconds: Double) async -> Result<InferenceResult, KernelError>? {
        _ = await waitUntil(within: seconds) { outcome != nil }
        return outcome
    }
}
