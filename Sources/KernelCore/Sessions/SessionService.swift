import Synchronization

/// Conversations: sessions an inference request may name, kept in the state
/// database, for `InferenceService` (which builds a session request's prompt
/// through `SessionExchange`) and the control API's `sessions` routes.
///
/// Owns the store (`SessionStore`, implemented outside KernelCore), the
/// retention settings and the claims of sessions answering a request now: a
/// session answers one request at a time, and a request that finds it busy
/// waits its turn, is refused with `.conflict`, or cancels the one being
/// answered (`SessionBusyPolicy`). A session belongs to the agent whose
/// request names it (an instance name, or "agentctl"). Without a store every
/// call fails with `.storageUnavailable` and the reason; requests that name
/// no session are unaffected. Thread-safe: `claims` is its only mutable
/// state, behind its mutex.
public final class SessionService: Sendable {
    let store: SessionStore?
    /// Why there is no store, for the error a call gets.
    let absence: String
    public let retention: SessionRetention
    /// Sessions answering a request now.
    private let claims = Mutex<[SessionKey: Claim]>([:])

    struct SessionKey: Hashable {
        let agent: String
        let session: String
    }

    /// A session's request being answered, and those waiting for it in order.
    private struct Claim {
        var request: UInt64
        /// The request's handle once it has started (`started`).
        var running: InferenceHandle?
        /// An `.interrupt` request came before `running` was known: cancel it when it is.
        var interrupted = false
        var waiting: [SessionWaiter] = []
    }

    /// How many requests may wait for one session.
    public static let maxWaiting = 16

    /// A service over `store`; nil means sessions are off, for `reason`.
    public init(
        store: SessionStore?, reason: String = "the kernel was started without a state database",
        retention: SessionRetention = SessionRetention()
    ) {
        self.store = store
        absence = reason
        self.retention = retention
    }

    /// The longest session id, in bytes.
    public static let maxIDBytes = 128
    /// The rule `validate` checks, for error messages.
    public static let rule = "use 1-128 letters, digits, '_', '.', '-', ':' or '@'"

    /// Throws `.invalidArgument` for an id that breaks `rule`.
    public static func validate(_ id: String) throws(KernelError) {
        let allowed = id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "@"): true
            default: false
            }
        }
        guard !id.isEmpty, id.utf8.count <= maxIDBytes, allowed else {
            throw KernelError(.invalidArgument, "invalid session id \"\(id.prefix(40))\(id.count > 40 ? "…" : "")\": \(rule)")
        }
    }

    // MARK: The control API (the operator: any agent's sessions)

    /// Sessions of `agent`, or of every agent. Throws `.storageUnavailable`.
    public func list(agent: String? = nil) throws(KernelError) -> [SessionInfo] {
        try run { store throws(SessionStoreError) in try store.sessions(agent: agent) }
    }

    /// Everything stored of one session. Throws `.notFound`, `.invalidArgument`, `.storageUnavailable`.
    public func show(agent: String, session: String) throws(KernelError) -> SessionTranscript {
        try Self.validate(session)
        guard let transcript = try run({ store throws(SessionStoreError) in try store.transcript(agent: agent, session: session) }) else {
            throw notFound(agent: agent, session: session)
        }
        return transcript
    }

    /// Deletes one session. Throws `.notFound`, `.conflict` (it is answering
    /// a request), `.invalidArgument`, `.storageUnavailable`.
    public func delete(agent: String, session: String) throws(KernelError) {
        try Self.validate(session)
        let key = SessionKey(agent: agent, session: session)
        if let request = claims.withLock({ $0[key]?.request }) {
            throw KernelError(.conflict, "session \(session) of \(agent) is answering request \(request): delete it after the answer (or cancel the request)")
        }
        guard try run({ store throws(SessionStoreError) in try store.delete(agent: agent, session: session) }) else {
            throw notFound(agent: agent, session: session)
        }
    }

    // MARK: Inference (through SessionExchange)

    /// How `claim` left a request.
    enum ClaimOutcome {
        /// The session is the request's: start it now, then report it (`started`).
        case claimed
        /// The request waits in the session's queue; with `.interrupt`, the
        /// request being answered, for the caller to cancel.
        case queued(interrupting: InferenceHandle?)
    }

    /// Claims `session` of `agent` for `waiter`'s request, or queues the
    /// waiter as `whenBusy` says. Throws `.invalidArgument`,
    /// `.storageUnavailable`, `.conflict` (busy under `.reject`, or
    /// `maxWaiting` requests waiting already). Every `.claimed` is followed
    /// by one `close`; a queued waiter is started by the `close` before it.
    func claim(agent: String, session: String, waiter: SessionWaiter, whenBusy: SessionBusyPolicy) throws(KernelError) -> ClaimOutcome {
        try Self.validate(session)
        guard store != nil else { throw KernelError(.storageUnavailable, "sessions are unavailable: \(absence)") }
        let key = SessionKey(agent: agent, session: session)
        return try claims.withLock { claims throws(KernelError) -> ClaimOutcome in
            guard var claim = claims[key] else {
                claims[key] = Claim(request: waiter.id)
                return .claimed
            }
            guard whenBusy != .reject else {
                throw KernelError(.conflict, "session \(session) of \(agent) is answering request \(claim.request): send the next message after its answer")
            }
            guard claim.waiting.count < Self.maxWaiting else {
                throw KernelError(.conflict, "session \(session) of \(agent) has \(Self.maxWaiting) requests waiting: send the next message after an answer")
            }
            var interrupting: InferenceHandle?
            if whenBusy == .interrupt {
                claim.waiting.insert(waiter, at: 0)
                interrupting = claim.running
                claim.interrupted = claim.running == nil
            } else {
                claim.waiting.append(waiter)
            }
            claims[key] = claim
            return .queued(interrupting: interrupting)
        }
    }

    /// The claimed session's history (empty for a new session). Throws `.storageUnavailable`.
    func history(agent: String, session: String) throws(KernelError) -> SessionHistory {
        try run { store throws(SessionStoreError) in
            try store.history(agent: agent, session: session) ?? SessionHistory(summary: nil, turns: [])
        }
    }

    /// Records `handle`, the started request of a session it claimed; true
    /// when an `.interrupt` request came first and it must be cancelled now.
    func started(_ handle: InferenceHandle, agent: String, session: String) -> Bool {
        claims.withLock { claims in
            let key = SessionKey(agent: agent, session: session)
            guard var claim = claims[key], claim.request == handle.id else { return false }
            claim.running = handle
            claims[key] = claim
            return claim.interrupted
        }
    }

    /// Releases the session `request` claimed and starts the next waiting request, if any.
    func close(agent: String, session: String, request: UInt64) {
        let key = SessionKey(agent: agent, session: session)
        let next = claims.withLock { claims -> SessionWaiter? in
            guard let claim = claims[key], claim.request == request else { return nil }
            guard let next = claim.waiting.first else {
                claims[key] = nil
                return nil
            }
            claims[key] = Claim(request: next.id, waiting: Array(claim.waiting.dropFirst()))
            return next
        }
        next?.runSoon()
    }

    /// Takes `waiter` out of its session's queue; false when it is not there (started, or never queued).
    func withdraw(_ waiter: SessionWaiter, agent: String, session: String) -> Bool {
        claims.withLock { claims in
            let key = SessionKey(agent: agent, session: session)
            guard let index = claims[key]?.waiting.firstIndex(where: { $0 === waiter }) else { return false }
            claims[key]?.waiting.remove(at: index)
            return true
        }
    }

    /// Waiting requests of instance `owner`, or request `id` when given, for cancellation.
    func waiting(owner: UInt64?, id: UInt64? = nil) -> [SessionWaiter] {
        claims.withLock { claims in
            claims.values.flatMap(\.waiting).filter { (owner == nil || $0.owner == owner) && (id == nil || $0.id == id) }
        }
    }

    /// Stores one exchange: the cut it made (if any) and its turns. Throws `.storageUnavailable`.
    func record(
        agent: String, session: String, policy: SessionPolicy, cut: SessionCut?, turns: [NewSessionTurn], now: Int64
    ) throws(KernelError) {
        try run { store throws(SessionStoreError) in
            try store.append(agent: agent, session: session, policy: policy, cut: cut, turns: turns, retention: retention, now: now)
        }
    }

    // MARK: Helpers

    private func notFound(agent: String, session: String) -> KernelError {
        KernelError(.notFound, "\(agent) has no session \(session) (see `agentctl sessions ls`)")
    }

    private func run<T>(_ body: (SessionStore) throws(SessionStoreError) -> T) throws(KernelError) -> T {
        guard let store else { throw KernelError(.storageUnavailable, "sessions are unavailable: \(absence)") }
        do {
            return try body(store)
        } catch {
            throw KernelError(.storageUnavailable, "sessions are unavailable: \(error.reason)")
        }
    }
}
