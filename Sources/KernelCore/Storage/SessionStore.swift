/// How a session's history is made to fit the context when it outgrows it.
public enum SessionPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    /// Keep the system prompt and the most recent turns; the older ones leave the prompt.
    case keepRecent = "keep_recent"
    /// Summarize the oldest turns with the model into a pinned summary.
    case summarize
}

/// One stored turn of a session.
public struct SessionTurn: Sendable, Equatable {
    /// Its place in the session: 1, 2, 3 … (never reused).
    public var seq: Int64
    public var message: ChatMessage
    /// Prompt tokens it takes, counted by the engine when it was stored.
    public var tokens: Int
    /// When it was stored, Unix milliseconds.
    public var at: Int64

    public init(seq: Int64, message: ChatMessage, tokens: Int, at: Int64) {
        self.seq = seq
        self.message = message
        self.tokens = tokens
        self.at = at
    }
}

/// A turn on its way into the store (its seq is assigned there).
public struct NewSessionTurn: Sendable, Equatable {
    public var message: ChatMessage
    public var tokens: Int

    public init(message: ChatMessage, tokens: Int) {
        self.message = message
        self.tokens = tokens
    }
}

/// A recorded cut: turns `fromSeq...throughSeq` left the prompt, summarized or dropped.
public struct SessionCut: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Codable {
        /// The turns left the prompt (keep_recent, or a summary that failed or could not cover them).
        case dropped
        /// The turns were summarized into `summary`, which is pinned to the prompt.
        case summarized
    }

    public var fromSeq: Int64
    public var throughSeq: Int64
    public var turns: Int
    public var kind: Kind
    /// The pinned summary after this cut (summarized only).
    public var summary: String?
    /// Why, in words (tokens of the history and of the context).
    public var reason: String
    /// Unix milliseconds.
    public var at: Int64

    public init(fromSeq: Int64, throughSeq: Int64, turns: Int, kind: Kind, summary: String?, reason: String, at: Int64) {
        self.fromSeq = fromSeq
        self.throughSeq = throughSeq
        self.turns = turns
        self.kind = kind
        self.summary = summary
        self.reason = reason
        self.at = at
    }
}

/// A session as a listing shows it.
public struct SessionInfo: Sendable, Equatable {
    /// The agent whose session it is (an instance name, or "agentctl").
    public var agent: String
    public var id: String
    public var policy: SessionPolicy
    /// Turns stored (after retention).
    public var turns: Int
    /// Of `turns`, those before the last cut (no longer in the prompt).
    public var cutTurns: Int
    /// Turns removed from storage by the retention count (after they were cut).
    public var prunedTurns: Int
    public var cuts: Int
    /// Unix milliseconds.
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        agent: String, id: String, policy: SessionPolicy, turns: Int, cutTurns: Int, prunedTurns: Int, cuts: Int,
        createdAt: Int64, updatedAt: Int64
    ) {
        self.agent = agent
        self.id = id
        self.policy = policy
        self.turns = turns
        self.cutTurns = cutTurns
        self.prunedTurns = prunedTurns
        self.cuts = cuts
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What the prompt is built from: the pinned summary and the turns after the last cut.
public struct SessionHistory: Sendable, Equatable {
    public var summary: String?
    /// Oldest first.
    public var turns: [SessionTurn]

    public init(summary: String?, turns: [SessionTurn]) {
        self.summary = summary
        self.turns = turns
    }
}

/// Everything stored of a session, for `agentctl sessions show`.
public struct SessionTranscript: Sendable, Equatable {
    public var info: SessionInfo
    public var summary: String?
    /// Every stored turn, oldest first (cut ones included).
    public var turns: [SessionTurn]
    /// Oldest first.
    public var cuts: [SessionCut]
    /// Turns with seq up to this one are out of the prompt (0: none).
    public var cutThrough: Int64

    public init(info: SessionInfo, summary: String?, turns: [SessionTurn], cuts: [SessionCut], cutThrough: Int64) {
        self.info = info
        self.summary = summary
        self.turns = turns
        self.cuts = cuts
        self.cutThrough = cutThrough
    }
}

/// How long sessions and their cut turns are kept.
public struct SessionRetention: Sendable, Equatable {
    /// A session not used for this long is deleted (milliseconds).
    public var maxIdleMilliseconds: Int64
    /// Stored turns per session at most: beyond it the oldest turns already
    /// cut from the prompt are deleted (turns still in the prompt never are).
    public var maxStoredTurns: Int

    public init(maxIdleMilliseconds: Int64 = 30 * 24 * 3600 * 1000, maxStoredTurns: Int = 1000) {
        self.maxIdleMilliseconds = maxIdleMilliseconds
        self.maxStoredTurns = maxStoredTurns
    }
}

/// Why a session store call failed: the database cannot serve it (the operator's line).
public struct SessionStoreError: Error, Sendable, Equatable {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }
}

/// Conversations kept in the state database. KernelCore holds this interface;
/// `StateStore` implements it on SQLite (`SQLiteSessionStore`).
///
/// Sessions are keyed by agent and id, both arriving checked. Every method
/// is one transaction. Thread-safe: any thread may call.
public protocol SessionStore: Sendable {
    /// The pinned summary and the turns after the last cut; nil when the session does not exist.
    func history(agent: String, session: String) throws(SessionStoreError) -> SessionHistory?
    /// Creates the session if needed, records `cut` (when given), appends `turns`
    /// and applies `retention` (to this session's cut turns, and every session's idle age),
    /// all in one transaction. `now` is Unix milliseconds.
    func append(
        agent: String, session: String, policy: SessionPolicy, cut: SessionCut?, turns: [NewSessionTurn],
        retention: SessionRetention, now: Int64
    ) throws(SessionStoreError)
    /// Sessions of `agent` (every agent's with nil), by agent then id.
    func sessions(agent: String?) throws(SessionStoreError) -> [SessionInfo]
    /// Everything stored of one session; nil when it does not exist.
    func transcript(agent: String, session: String) throws(SessionStoreError) -> SessionTranscript?
    /// Deletes a session and its turns and cuts; false when it did not exist.
    func delete(agent: String, session: String) throws(SessionStoreError) -> Bool
}
