import DequeModule

/// Hands an engine's output to the agent thread that waits for it in
/// `infer` or `infer_stream`.
///
/// The engine side (`received`, `finished`) never blocks; the agent side
/// (`next`) blocks on `lock`, which unload wakes through `Instance.beginWait`.
final class InferenceChannel: InferenceSink, @unchecked Sendable {
    enum Event {
        case pieces([String])
        case finished(Result<InferenceResult, KernelError>)
        case interrupted
    }

    let lock = ConditionLock()
    /// Whether pieces are kept for `next` (infer_stream) or dropped (infer).
    private let streaming: Bool
    private var pieces: Deque<String> = []
    private var outcome: Result<InferenceResult, KernelError>?

    init(streaming: Bool) { self.streaming = streaming }

    func received(_ piece: String) {
        guard streaming else { return }
        lock.withLock {
            pieces.append(piece)
            lock.signal()
        }
    }

    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        lock.withLock {
            self.outcome = outcome
            lock.signal()
        }
    }

    /// Waits for pieces, then the outcome (after every piece was taken), or
    /// until `interrupted()` holds when woken.
    func next(interrupted: () -> Bool) -> Event {
        lock.withLock {
            while true {
                if !pieces.isEmpty {
                    defer { pieces.removeAll() }
                    return .pieces(Array(pieces))
                }
                if let outcome { return .finished(outcome) }
                if interrupted() { return .interrupted }
                lock.wait()
            }
        }
    }
}
