/// Where a run stands. Stored as its raw value.
public enum RunState: String, Sendable, Equatable, Codable, CaseIterable {
    /// Asking the model or running a tool; also a run the kernel stopped
    /// during, until the next start resumes it.
    case running
    /// Paused before a call of a tool that needs approval (AOS_TOOL_NEEDS_APPROVAL),
    /// until `agentctl runs approve` or `reject`.
    case awaitingApproval = "awaiting_approval"
    /// The model answered.
    case completed
    /// It ended with an error (see the run's error).
    case failed
    /// Cancelled by its caller, `agentctl runs cancel`, or its agent's unload.
    case cancelled
    /// The kernel stopped during it and the next start could not resume it
    /// (a run in a session: its exchange is stored only as a whole).
    case interrupted
    /// The kernel stopped during it and its agent was not running at the next start.
    case agentGone = "agent_gone"

    /// Whether the run is over.
    public var isFinal: Bool { self != .running && self != .awaitingApproval }
}

/// Where a run's outcome goes.
public enum RunReply: String, Sendable, Equatable, Codable {
    /// The control API's caller (`agentctl infer --tools`); after a restart, the record only.
    case control
    /// An agent's `infer` or `infer_stream`, waiting on its thread; after a restart, the record only.
    case caller
    /// An agent's `infer_submit`: an AOS_MSG_INFERENCE message, also after a restart.
    case mailbox
}

/// What a run was asked: enough to run it again from its steps.
public struct RunRequest: Sendable, Equatable, Codable {
    /// The prompt as the model first saw it (a session's history included).
    public var messages: [ChatMessage]
    /// The tools offered to the model.
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice
    public var maxTokens: Int
    public var temperature: Float
    public var topP: Float
    public var seed: UInt64
    public var stop: [String]
    public var maxSteps: Int
    /// The session it answers in, if any.
    public var session: String?

    public init(parameters: InferenceParameters, maxSteps: Int) {
        messages = parameters.messages
        tools = parameters.tools
        toolChoice = parameters.toolChoice
        maxTokens = parameters.maxTokens
        temperature = parameters.temperature
        topP = parameters.topP
        seed = parameters.seed
        stop = parameters.stop
        self.maxSteps = maxSteps
        session = parameters.session
    }

    /// The parameters of the run's first turn.
    var parameters: InferenceParameters {
        var parameters = InferenceParameters(messages: messages, maxTokens: maxTokens)
        parameters.tools = tools
        parameters.toolChoice = toolChoice
        parameters.temperature = temperature
        parameters.topP = topP
        parameters.seed = seed
        parameters.stop = stop
        return parameters
    }
}

/// One checkpointed step of a run, written before the next begins.
public enum RunStep: Sendable, Equatable {
    /// A model turn that called tools: its text, the calls, in order, and the tokens it used.
    case model(text: String, calls: [ToolCallRequest], usage: RunStepUsage = RunStepUsage())
    /// The outcome of one of the last model turn's calls, in the order of the calls.
    case tool(call: ToolCallRequest, outcome: Result<String, KernelError>, durationNanos: UInt64)
}

/// A run as a listing shows it.
public struct RunInfo: Sendable, Equatable {
    /// The request id of its tool loop.
    public var id: UInt64
    /// The agent it is accounted to: an instance name, or the control API's name.
    public var agent: String
    public var reply: RunReply
    public var session: String?
    public var state: RunState
    /// Steps checkpointed.
    public var steps: Int
    /// Why it failed or ended early, when it did.
    public var error: KernelError?
    /// Unix milliseconds.
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: UInt64, agent: String, reply: RunReply, session: String?, state: RunState, steps: Int, error: KernelError?,
        createdAt: Int64, updatedAt: Int64
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

/// Everything stored of a run.
public struct RunRecord: Sendable, Equatable {
    public var info: RunInfo
    public var request: RunRequest
    /// Oldest first.
    public var steps: [RunStep]
    /// The model's answer, once completed.
    public var answer: String?

    public init(info: RunInfo, request: RunRequest, steps: [RunStep], answer: String?) {
        self.info = info
        self.request = request
        self.steps = steps
        self.answer = answer
    }

    /// The first call of the last model turn without a stored outcome: the
    /// one a stop interrupted, or the one waiting for approval.
    public var unansweredCall: ToolCallRequest? {
        guard let last = steps.lastIndex(where: { if case .model = $0 { true } else { false } }),
              case .model(_, let calls, _) = steps[last]
        else { return nil }
        let answered = steps.count - last - 1
        return answered < calls.count ? calls[answered] : nil
    }
}
