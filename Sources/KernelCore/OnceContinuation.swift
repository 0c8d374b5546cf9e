import Synchronization

/// A continuation that may be resumed from several places (a result, a
/// timeout); the first resume wins and the others are ignored. Thread-safe.
final class OnceContinuation<Value: Sendable>: Sendable {
    private let state: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        state = Mutex(continuation)
    }

    func resume(_ value: Value) {
        let continuation = state.withLock { state in
            defer { state = nil }
            return state
        }
        continuation?.resume(returning: value)
    }
}
