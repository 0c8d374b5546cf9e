import KernelCore
import Synchronization

/// The results of many requests in the order they finished (see `Recorder`). Thread-safe.
public final class FinishJournal: Sendable {
    private let results = Mutex<[InferenceResult]>([])

    public init() {}

    func append(_ result: InferenceResult) { results.withLock { $0.append(result) } }

    /// Every result so far, first finished first.
    public var all: [InferenceResult] { results.withLock { $0 } }
}
