import Dispatch
import Synchronization

/// A request waiting for its session, which is answering another request
/// (`SessionBusyPolicy.enqueue` or `.interrupt`).
///
/// `SessionService` keeps it in the session's queue and, when the session is
/// released, claims the session for it and calls `run`, which starts the
/// request (`begin`: the session's history, the prompt, the exchange). Until
/// then `cancel` takes it out of the queue and `sink` hears it finished as
/// `.cancelled`, as a cancelled queued request does.
/// After that it forwards `cancel` to the started request. `sink` hears one
/// outcome in every case. Thread-safe: `phase` is behind its mutex.
final class SessionWaiter: InferenceHandle, @unchecked Sendable {
    let id: UInt64
    /// The instance that submitted it (0 for the control API), for its unload.
    let owner: UInt64
    private let sink: InferenceSink
    private let sessions: SessionService
    private let agent: String
    private let session: String
    private let begin: () throws(KernelError) -> InferenceHandle
    private let submittedAt = monotonicNanos()

    private enum Phase {
        case waiting
        case cancelled
        case started(InferenceHandle)
    }

    private let phase = Mutex(Phase.waiting)

    init(
        id: UInt64, owner: UInt64, agent: String, session: String, sessions: SessionService, sink: InferenceSink,
        begin: @escaping () throws(KernelError) -> InferenceHandle
    ) {
        self.id = id
        self.owner = owner
        self.agent = agent
        self.session = session
        self.sessions = sessions
        self.sink = sink
        self.begin = begin
    }

    /// Starts the request on a GCD thread; the session is claimed for it.
    /// A failure to start (the session released by then) goes to `sink`.
    func runSoon() {
        DispatchQueue.global().async { [self] in
            let cancelled = phase.withLock { phase -> Bool in
                if case .cancelled = phase { return true }
                return false
            }
            guard !cancelled else {
                sessions.close(agent: agent, session: session, request: id)
                return finishCancelled()
            }
            do throws(KernelError) {
                let handle = try begin()
                let cancelledSince = phase.withLock { phase -> Bool in
                    if case .cancelled = phase { return true }
                    phase = .started(handle)
                    return false
                }
                if cancelledSince { handle.cancel() }
            } catch {
                sink.finished(.failure(error))
            }
        }
    }

    func cancel() {
        let started = phase.withLock { phase -> InferenceHandle? in
            switch phase {
            case .started(let handle): return handle
            case .waiting: phase = .cancelled
            case .cancelled: break
            }
            return nil
        }
        if let started { return started.cancel() }
        // Still queued: this call reports it. Already taken off the queue: `runSoon` does.
        if sessions.withdraw(self, agent: agent, session: session) { finishCancelled() }
    }

    private func finishCancelled() {
        var usage = InferenceUsage()
        usage.totalNanos = monotonicNanos() &- submittedAt
        usage.queueNanos = usage.totalNanos
        sink.finished(.success(InferenceResult(requestID: id, text: "", finishReason: .cancelled, usage: usage)))
    }
}
