import Foundation

/// `GET /v1/sessions[?agent=NAME]`: stored conversations (`agentctl sessions ls`).
public struct SessionList: Codable, Sendable, Equatable {
    public var sessions: [SessionSummaryInfo]

    public init(sessions: [SessionSummaryInfo]) { self.sessions = sessions }
}

/// One session in a listing.
public struct SessionSummaryInfo: Codable, Sendable, Equatable {
    /// The agent whose session it is (an instance name, or "agentctl").
    public var agent: String
    public var id: String
    /// "keep_recent" or "summarize".
    public var policy: String
    /// Turns stored.
    public var turns: Int
    /// Of `turns`, those cut from the prompt.
    public var cutTurns: Int
    /// Turns deleted by retention (after they were cut).
    public var prunedTurns: Int
    public var cuts: Int
    /// RFC 3339.
    public var createdAt: String
    public var updatedAt: String

    public init(
        agent: String, id: String, policy: String, turns: Int, cutTurns: Int, prunedTurns: Int, cuts: Int,
        createdAt: String, updatedAt: String
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

/// `GET /v1/sessions/AGENT/ID`: one session's turns, cuts and summary (`agentctl sessions show`).
public struct SessionDetail: Codable, Sendable, Equatable {
    public var session: SessionSummaryInfo
    /// The pinned summary of the turns summarized so far, if any.
    public var summary: String?
    /// Turns up to this seq are out of the prompt (0: none).
    public var cutThrough: Int64
    public var turns: [SessionTurnInfo]
    public var cuts: [SessionCutInfo]

    public init(session: SessionSummaryInfo, summary: String?, cutThrough: Int64, turns: [SessionTurnInfo], cuts: [SessionCutInfo]) {
        self.session = session
        self.summary = summary
        self.cutThrough = cutThrough
        self.turns = turns
        self.cuts = cuts
    }
}

/// One stored turn.
public struct SessionTurnInfo: Codable, Sendable, Equatable {
    public struct ToolCall: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var arguments: String

        public init(id: String, name: String, arguments: String) {
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    public var seq: Int64
    /// "user", "assistant" or "tool".
    public var role: String
    public var content: String
    public var toolCalls: [ToolCall]?
    public var toolCallId: String?
    public var tokens: Int
    /// False once a cut took it out of the prompt.
    public var inPrompt: Bool
    public var at: String

    public init(
        seq: Int64, role: String, content: String, toolCalls: [ToolCall]?, toolCallId: String?, tokens: Int, inPrompt: Bool, at: String
    ) {
        self.seq = seq
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
        self.tokens = tokens
        self.inPrompt = inPrompt
        self.at = at
    }
}

/// One recorded cut: turns `fromSeq...throughSeq` left the prompt.
public struct SessionCutInfo: Codable, Sendable, Equatable {
    public var fromSeq: Int64
    public var throughSeq: Int64
    public var turns: Int
    /// "summarized" or "dropped".
    public var kind: String
    public var summary: String?
    public var reason: String
    public var at: String

    public init(fromSeq: Int64, throughSeq: Int64, turns: Int, kind: String, summary: String?, reason: String, at: String) {
        self.fromSeq = fromSeq
        self.throughSeq = throughSeq
        self.turns = turns
        self.kind = kind
        self.summary = summary
        self.reason = reason
        self.at = at
    }
}
