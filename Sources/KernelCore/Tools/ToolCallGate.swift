import Synchronization

/// Keeps a tool plugin's library loaded while thread-safe calls run on callers' threads.
///
/// Calls `enter` before and `leave` after; once the plugin's thread has ended,
/// `close(whenIdle:)` runs its action (closing the library) when the last call leaves.
/// Thread-safe.
final class ToolCallGate: Sendable {
    private struct State {
        var active = 0
        var closed = false
        var onIdle: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Admits a call; false once the gate is closed.
    func enter() -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.active += 1
            return true
        }
    }

    func leave() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.active -= 1
            guard state.active == 0, let action = state.onIdle else { return nil }
            state.onIdle = nil
            return action
        }
        action?()
    }

    /// Refuses new calls and runs `action` once none is running (at once when idle).
    func close(whenIdle action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            state.closed = true
            guard state.active > 0 else { return true }
            state.onIdle = action
            return false
        }
        if now { action() }
    }
}
