/// The outcome of a request: the reply body, or why there is none.
public typealias ReplyOutcome = Result<[UInt8], AOSStatus>

/// One request's reply slot.
typealias PendingReply = Pending<ReplyOutcome>

/// One request's outcome slot, shared by the caller who waits and the
/// receiver who answers (a message reply, a tool's result). The first
/// completion wins (an answer, a timeout, the receiver stopping); later ones
/// return false.
///
/// A plugin thread waits on its own instance's `ConditionLock`; the control
/// API awaits it. Thread-safe.
final class Pending<Outcome: Sendable>: @unchecked Sendable {
    let requestID: UInt64
    private let lock: ConditionLock
    private var outcome: Outcome?
    private var continuation: CheckedContinuation<Outcome, Never>?
    private var onComplete: (@Sendable (Outcome) -> Void)?

    /// `lock` is the waiting thread's parker, or a fresh one for an async waiter.
    init(requestID: UInt64, lock: ConditionLock) {
        self.requestID = requestID
        self.lock = lock
    }

    var isCompleted: Bool { lock.withLock { outcome != nil } }

    /// Whether a task is suspended in `value()`, waiting for the outcome.
    var isAwaited: Bool { lock.withLock { continuation != nil } }

    /// Records `result` unless the request already has an outcome; wakes the waiter.
    /// Returns whether `result` became the outcome.
    @discardableResult
    func complete(_ result: Outcome) -> Bool {
        resolve(result).won
    }

    /// The outcome after offering `fallback`: the existing one, or `fallback` if there was none.
    func outcome(orElse fallback: Outcome) -> Outcome {
        resolve(fallback).outcome
    }

    private func resolve(_ result: Outcome) -> (won: Bool, outcome: Outcome) {
        lock.lock()
        if let outcome {
            lock.unlock()
            return (false, outcome)
        }
        outcome = result
        let waiting = continuation
        continuation = nil
        let callback = onComplete
        onComplete = nil
        lock.broadcast()
        lock.unlock()
        waiting?.resume(returning: result)
        callback?(result)
        return (true, result)
    }

    /// Blocks the calling thread until an outcome, `deadline` (monotonic ns, nil = none)
    /// or `interrupted()` (checked under the lock after every wake-up).
    /// Returns nil when the wait ended without an outcome.
    func wait(until deadline: UInt64?, interrupted: () -> Bool) -> Outcome? {
        lock.withLock {
            while outcome == nil && !interrupted() {
                if let deadline {
                    if !lock.wait(until: deadline) { break }
                } else {
                    lock.wait()
                }
            }
            return outcome
        }
    }

    /// Calls `body` with the outcome once there is one, on the completing
    /// thread (at once if it is already there). One callback per slot: the
    /// cluster's answer to a remote caller.
    func whenComplete(_ body: @escaping @Sendable (Outcome) -> Void) {
        lock.lock()
        if let outcome {
            lock.unlock()
            body(outcome)
        } else {
            onComplete = body
            lock.unlock()
        }
    }

    /// Suspends until an outcome. Complete it with a timeout from elsewhere to bound the wait.
    func value() async -> Outcome {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let outcome {
                lock.unlock()
                continuation.resume(returning: outcome)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }
}
