/// Keeps a tool plugin's code and state alive while thread-safe tools run on callers' threads.
///
/// Calls `enter` before and `leave` after; the plugin's thread calls
/// `closeAndWait` before `stop`, which refuses new calls and waits for the
/// running ones, so `stop` never frees what a call still uses. Thread-safe.
final class ToolCallGate: Sendable {
    private let lock = ConditionLock()
    nonisolated(unsafe) private var active = 0
    nonisolated(unsafe) private var closed = false

    /// Admits a call; false once the gate is closed.
    func enter() -> Bool {
        lock.withLock {
            guard !closed else { return false }
            active += 1
            return true
        }
    }

    func leave() {
        lock.withLock {
            active -= 1
            if active == 0 { lock.broadcast() }
        }
    }

    /// Refuses new calls and blocks until none is running.
    func closeAndWait() {
        lock.withLock {
            closed = true
            while active > 0 { lock.wait() }
        }
    }
}
