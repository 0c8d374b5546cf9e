/// One turn of a chat.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String
    /// An assistant turn that called tools: the calls (its content is then usually empty).
    public var toolCalls: [ToolCallRequest]?
    /// A "tool" turn: the id of the call whose result `content` is.
    public var toolCallID: String?

    public init(role: String, content: String, toolCalls: [ToolCallRequest]? = nil, toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    /// The roles a request may use.
    public static let roles: Set<String> = ["system", "user", "assistant", "tool"]
}

/// A tool call a model asked for, in the OpenAI shape.
public struct ToolCallRequest: Sendable, Equatable, Codable {
    /// Names the call, so the result can refer to it ("call_1").
    public var id: String
    /// The full tool name, e.g. "catalog.lookup_product".
    public var name: String
    /// The arguments as JSON text, as the model wrote them.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A tool offered to the model.
public struct ToolDefinition: Sendable, Equatable, Codable {
    /// The full tool name, e.g. "catalog.lookup_product".
    public var name: String
    public var description: String
    /// The JSON Schema of its arguments object, as JSON text.
    public var parameters: String

    public init(name: String, description: String, parameters: String) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// Whether the model must call a tool (AOS_TOOL_CHOICE_*).
public enum ToolChoice: String, Sendable, Equatable, Codable {
    /// The model answers or calls a tool, as it decides.
    case auto
    /// The model must call one of the offered tools.
    case required
    /// The model must answer: the tools stay described but cannot be called.
    case none
}

/// What the generated text must match.
public enum OutputConstraint: Sendable, Equatable {
    /// A GBNF grammar whose root rule is `root`.
    case grammar(String)
    /// A JSON Schema (as JSON text) of an object.
    case jsonSchema(String)
}

/// Everything an inference request asks of the engine, checked by `validate`.
public struct InferenceParameters: Sendable, Equatable {
    public var messages: [ChatMessage]
    public var maxTokens: Int
    /// 0 = greedy.
    public var temperature: Float = 0
    /// Nucleus sampling; 1 = off.
    public var topP: Float = 1
    public var seed: UInt64 = 0
    public var stop: [String] = []
    public var constraint: OutputConstraint?
    /// Tools the model may call; the engine offers them and reports calls in `InferenceResult.toolCalls`.
    public var tools: [ToolDefinition] = []
    public var toolChoice: ToolChoice = .auto
    /// The session the request belongs to (`SessionService.validate`), or
    /// nil. The kernel builds the prompt from its stored turns and `messages`
    /// (its system messages, then the new turns) and stores the exchange;
    /// engines never see it.
    public var session: String?
    /// How the session's history is fitted when it outgrows the context.
    public var sessionPolicy: SessionPolicy = .keepRecent
    /// What the request does when its session is answering another request.
    public var sessionWhenBusy: SessionBusyPolicy = .enqueue

    public init(messages: [ChatMessage], maxTokens: Int) {
        self.messages = messages
        self.maxTokens = maxTokens
    }

    public static let maxStopStrings = 8
    public static let maxStopBytes = 256

    /// Checks what does not depend on the engine. Throws `.invalidArgument` naming the field.
    public func validate() throws(KernelError) {
        func invalid(_ message: String) -> KernelError { KernelError(.invalidArgument, message) }
        guard !messages.isEmpty else { throw invalid("no messages: a request needs at least one") }
        for (index, message) in messages.enumerated() where !ChatMessage.roles.contains(message.role) {
            throw invalid("message \(index) has role \"\(message.role)\": use system, user, assistant or tool")
        }
        guard maxTokens >= 1 else { throw invalid("max_tokens is \(maxTokens): it must be at least 1") }
        guard temperature.isFinite, temperature >= 0, temperature <= 2 else {
            throw invalid("temperature \(temperature) is out of range 0...2")
        }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw invalid("top_p \(topP) is out of range (0, 1]") }
        guard stop.count <= Self.maxStopStrings else {
            throw invalid("\(stop.count) stop strings: at most \(Self.maxStopStrings)")
        }
        for string in stop where string.isEmpty || string.utf8.count > Self.maxStopBytes {
            throw invalid("a stop string must be 1 to \(Self.maxStopBytes) bytes")
        }
        if case .grammar(let text)? = constraint, text.isEmpty { throw KernelError(.invalidGrammar, "the grammar is empty") }
        if case .jsonSchema(let text)? = constraint, text.isEmpty { throw KernelError(.invalidSchema, "the JSON Schema is empty") }
        if !tools.isEmpty, constraint != nil { throw invalid("tools cannot be combined with a grammar or JSON Schema") }
    }
}
