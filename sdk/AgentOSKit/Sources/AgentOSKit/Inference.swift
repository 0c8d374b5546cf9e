import CAgentOSKit
import Glibc

/// One turn of a chat.
public struct ChatMessage: Sendable, Hashable {
    public enum Role: String, Sendable {
        case system, user, assistant, tool
    }
    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// An inference request (aos_infer_request): the chat, and how to generate.
/// Every field but `messages` defaults to the ABI's default.
public struct InferenceRequest: Sendable {
    public var messages: [ChatMessage]
    /// Tokens to generate at most (per model turn with tools).
    public var maxTokens: UInt32
    /// 0 is greedy and deterministic; up to 2.
    public var temperature: Float = 0
    /// Nucleus sampling in (0, 1]; 0 means off.
    public var topP: Float = 0
    /// Added to the agent's priority under `--policy priority`.
    public var priority: Int32 = 0
    public var seed: UInt64 = 0
    /// Strings that end the generation (at most 8).
    public var stop: [String] = []
    /// A GBNF grammar (root rule "root") the output must match.
    public var grammar: String?
    /// A JSON Schema of an object the output must match (not with `grammar`).
    public var jsonSchema: String?
    /// Tool names or globs ("catalog.*") for the kernel's tool loop (not with a grammar or schema).
    public var tools: [String] = []
    /// The first model turn must call a tool.
    public var requireTool = false
    /// Model turns at most with tools, 1...32; 0 means 8.
    public var maxSteps: UInt32 = 0
    /// ABI 1.10: the session the request continues (the kernel adds its stored
    /// turns to the prompt and stores this exchange), e.g. `message.session`; nil for none.
    /// A kernel before 1.10 ignores it.
    public var session: String?
    /// ABI 1.10: when the session's history outgrows the context, summarize its
    /// oldest turns with the model instead of leaving them out (keep_recent).
    public var summarizeSession = false
    /// ABI 1.10: what the request does while its session answers another one.
    public var whenSessionBusy = SessionBusy.enqueue

    public init(messages: [ChatMessage], maxTokens: UInt32 = 256) {
        self.messages = messages
        self.maxTokens = maxTokens
    }

    /// A request of one user message, after an optional system prompt.
    public init(system: String? = nil, user: String, maxTokens: UInt32 = 256) {
        self.init(messages: (system.map { [ChatMessage(.system, $0)] } ?? []) + [ChatMessage(.user, user)], maxTokens: maxTokens)
    }

    /// Runs `body` with the C request; every string it points to lives until `body` returns.
    func withC<R>(_ body: (UnsafePointer<aos_infer_request>) -> R) -> R {
        let strings = CStrings()
        var chat = messages.map { aos_chat_message(role: strings.copy($0.role.rawValue), content: strings.copy($0.content)) }
        var stops = stop.map { Optional(strings.copy($0)) }
        var toolNames = tools.map { Optional(strings.copy($0)) }
        return chat.withUnsafeMutableBufferPointer { chat in
            stops.withUnsafeMutableBufferPointer { stops in
                toolNames.withUnsafeMutableBufferPointer { toolNames in
                    var request = aos_infer_request()
                    request.struct_size = UInt32(MemoryLayout<aos_infer_request>.size)
                    request.n_messages = UInt32(chat.count)
                    request.messages = UnsafePointer(chat.baseAddress)
                    request.max_tokens = maxTokens
                    request.temperature = temperature
                    request.top_p = topP
                    request.priority = priority
                    request.seed = seed
                    request.stop = stops.isEmpty ? nil : UnsafePointer(stops.baseAddress)
                    request.n_stop = UInt32(stops.count)
                    request.grammar = grammar.map(strings.copy)
                    request.json_schema = jsonSchema.map(strings.copy)
                    request.tools = toolNames.isEmpty ? nil : UnsafePointer(toolNames.baseAddress)
                    request.n_tools = UInt32(toolNames.count)
                    request.tool_choice = requireTool ? AOS_TOOL_CHOICE_REQUIRED : AOS_TOOL_CHOICE_AUTO
                    request.max_steps = maxSteps
                    request.session = session.map(strings.copy)
                    request.session_policy = summarizeSession ? AOS_SESSION_SUMMARIZE : AOS_SESSION_KEEP_RECENT
                    request.session_busy = whenSessionBusy.rawValue
                    return withExtendedLifetime(strings) { body(&request) }
                }
            }
        }
    }
}

/// What an inference request produced.
public struct InferenceResult: Sendable {
    public enum FinishReason: UInt32, Sendable {
        case none = 0
        /// The model ended its turn, or a stop string matched.
        case stop = 1
        /// `maxTokens` were generated, or the context filled.
        case length = 2
        /// Cancelled by `cancel`, a stream callback, or unload.
        case cancelled = 3
    }

    /// Token counts and timings (with tools: summed over every model turn).
    public struct Usage: Sendable {
        public var promptTokens: Int
        public var completionTokens: Int
        /// Prompt tokens the engine took from its prefix cache (ABI 1.5; 0 from older kernels).
        public var cachedTokens: Int
        public var queue: Duration
        public var timeToFirstToken: Duration
        public var total: Duration
    }

    /// Kernel-minted; names the request in logs, `ps` and `cancel`.
    public var requestID: UInt64
    public var text: String
    public var finishReason: FinishReason
    public var usage: Usage
    /// With tools: the tool loop's steps as a JSON array; nil without tools.
    public var trace: String?

    init(_ result: aos_infer_result, text: String, trace: String?) {
        let cachedEnd = MemoryLayout<aos_infer_result>.offset(of: \.cached_tokens)! + MemoryLayout<UInt32>.size
        requestID = result.request_id
        self.text = text
        finishReason = FinishReason(rawValue: result.finish_reason) ?? .none
        usage = Usage(
            promptTokens: Int(result.usage.prompt_tokens), completionTokens: Int(result.usage.completion_tokens),
            cachedTokens: Int(result.struct_size) >= cachedEnd ? Int(result.cached_tokens) : 0,
            queue: .nanoseconds(Int64(result.usage.queue_ns)), timeToFirstToken: .nanoseconds(Int64(result.usage.ttft_ns)),
            total: .nanoseconds(Int64(result.usage.total_ns)))
        self.trace = trace
    }
}

/// C copies of strings that live as long as this object.
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    func copy(_ string: String) -> UnsafePointer<CChar> {
        let pointer = strdup(string)!
        pointers.append(pointer)
        return UnsafePointer(pointer)
    }

    deinit { pointers.forEach { free($0) } }
}

/// What a request does while its session is answering another request (AOS_SESSION_BUSY_*).
public enum SessionBusy: UInt32, Sendable {
    /// Wait behind the requests already waiting (at most 16).
    case enqueue = 0
    /// Fail at once with `.conflict`.
    case reject = 1
    /// Cancel the request being answered (it stores nothing) and go next.
    case interrupt = 2
}
