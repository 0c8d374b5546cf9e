import Foundation

/// `GET /v1/runs[?agent=NAME]`: the tool-loop runs the kernel keeps, newest first (`agentctl runs ls`).
public struct RunList: Codable, Sendable, Equatable {
    public var runs: [RunSummaryInfo]

    public init(runs: [RunSummaryInfo]) { self.runs = runs }
}

/// One run in a listing.
public struct RunSummaryInfo: Codable, Sendable, Equatable {
    /// The request id of its tool loop.
    public var id: UInt64
    /// The agent it is accounted to (an instance name, or "agentctl").
    public var agent: String
    /// Where its outcome goes: "control", "caller" (an agent's infer) or "mailbox" (infer_submit).
    public var reply: String
    public var session: String?
    /// "running", "awaiting_approval", "completed", "failed", "cancelled", "interrupted" or "agent_gone".
    public var state: String
    /// Steps checkpointed.
    public var steps: Int
    /// Why it failed or ended early.
    public var error: ErrorBody.Detail?
    /// RFC 3339.
    public var createdAt: String
    public var updatedAt: String

    public init(
        id: UInt64, agent: String, reply: String, session: String?, state: String, steps: Int, error: ErrorBody.Detail?,
        createdAt: String, updatedAt: String
    ) {
        self.id = id
        self.agent = agent
        self.reply = reply
        self.session = session
        self.state = state
        self.steps = steps
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// `GET /v1/runs/ID`: a run's request, steps and outcome (`agentctl runs show`).
public struct RunDetail: Codable, Sendable, Equatable {
    public var run: RunSummaryInfo
    /// The prompt as the model first saw it.
    public var messages: [RunMessage]
    /// The tools offered to the model.
    public var tools: [String]
    public var maxSteps: Int
    /// Oldest first.
    public var steps: [RunStepInfo]
    /// While awaiting approval: the call that waits.
    public var awaiting: ToolStepCall?
    /// The model's answer, once completed.
    public var answer: String?

    public init(
        run: RunSummaryInfo, messages: [RunMessage], tools: [String], maxSteps: Int, steps: [RunStepInfo], awaiting: ToolStepCall?,
        answer: String?
    ) {
        self.run = run
        self.messages = messages
        self.tools = tools
        self.maxSteps = maxSteps
        self.steps = steps
        self.awaiting = awaiting
        self.answer = answer
    }
}

/// `POST /v1/runs/ID/approve` and `/reject`: the operator's decision on the call a run waits for.
public struct RunDecision: Codable, Sendable, Equatable {
    /// For a rejection, the model reads it with the rejection; for an approval, it is logged.
    public var comment: String?

    public init(comment: String?) { self.comment = comment }
}

/// One message of a run's request.
public struct RunMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// One checkpointed step: a model turn that called tools, or one call's outcome.
public struct RunStepInfo: Codable, Sendable, Equatable {
    public var seq: Int
    /// "model" or "tool".
    public var kind: String
    /// A model turn: its text and the calls it made.
    public var text: String?
    public var calls: [ToolStepCall]?
    /// A call's outcome.
    public var call: ToolStepCall?
    public var result: String?
    public var error: ErrorBody.Detail?
    public var durationMs: Double?
    /// A model turn's tokens (0 for turns stored before usage was recorded).
    public var promptTokens: Int?
    public var cachedPromptTokens: Int?
    public var completionTokens: Int?

    public init(
        seq: Int, kind: String, text: String? = nil, calls: [ToolStepCall]? = nil, call: ToolStepCall? = nil, result: String? = nil,
        error: ErrorBody.Detail? = nil, durationMs: Double? = nil
    ) {
        self.seq = seq
        self.kind = kind
        self.text = text
        self.calls = calls
        self.call = call
        self.result = result
        self.error = error
        self.durationMs = durationMs
    }
}

/// A tool call the model asked for.
public struct ToolStepCall: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// JSON text, as the model wrote it.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
