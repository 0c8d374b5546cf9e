/// One turn of a chat.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// The roles a request may use.
    public static let roles: Set<String> = ["system", "user", "assistant"]
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
            throw invalid("message \(index) has role \"\(message.role)\": use system, user or assistant")
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
    }
}
