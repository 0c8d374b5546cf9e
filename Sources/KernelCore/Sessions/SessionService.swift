import Synchronization

/// Conversations: sessions an inference request may name, kept in the state
/// database, for `InferenceService` (which builds a session request's prompt
/// through `SessionExchange`) and the control API's `sessions` routes.
///
/// Owns the store (`SessionStore`, implemented outside KernelCore), the
/// retention settings and the set of sessions answering a request now: a
/// session answers one request at a time, and a second one is refused with
/// `.conflict` until the first has ended. A session belongs to the agent
/// whose request names it (an instance name, or "agentctl"). Without a store
/// every call fails with `.storageUnavailable` and the reason; requests that
/// name no session are unaffected. Thread-safe: `busy` is its only mutable
/// state, behind its mutex.
public final class SessionService: Sendable {
    let store: SessionStore?
    /// Why there is no store, for the error a call gets.
    let absence: String
    public let retention: SessionRetention
    /// Sessions answering a request now, with the request's id.
    private let busy = Mutex<[SessionKey: UInt64]>([:])

    struct SessionKey: Hashable {
        let agent: String
        let session: String
    }

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
        if let request = busy.withLock({ $0[key] }) {
            throw KernelError(.conflict, "session \(session) of \(agent) is answering request \(request): delete it after the answer (or cancel the request)")
        }
        guard try run({ store throws(SessionStoreError) in try store.delete(agent: agent, session: session) }) else {
            throw notFound(agent: agent, session: session)
        }
    }

    // MARK: Inference (through SessionExchange)

    /// Claims `session` of `agent` for `request` and returns its history
    /// (empty for a new session). Throws `.invalidArgument`, `.conflict`
    /// (another request is being answered in it), `.storageUnavailable`.
    /// Every successful `open` is followed by one `close`.
    func open(agent: String, session: String, request: UInt64) throws(KernelError) -> SessionHistory {
        try Self.validate(session)
        guard let store else { throw KernelError(.storageUnavailable, "sessions are unavailable: \(absence)") }
        let key = SessionKey(agent: agent, session: session)
        let holder = busy.withLock { busy -> UInt64? in
            if let other = busy[key] { return other }
            busy[key] = request
            return nil
        }
        if let holder {
            throw KernelError(.conflict, "session \(session) of \(agent) is answering request \(holder): send the next message after its answer")
        }
        do {
            return try store.history(agent: agent, session: session) ?? SessionHistory(summary: nil, turns: [])
        } catch {
            close(agent: agent, session: session)
            throw KernelError(.storageUnavailable, "sessions are unavailable: \(error.reason)")
        }
    }

    /// Releases a session `open` claimed.
    func close(agent: String, session: String) {
        _ = busy.withLock { $0.removeValue(forKey: SessionKey(agent: agent, session: session)) }
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
