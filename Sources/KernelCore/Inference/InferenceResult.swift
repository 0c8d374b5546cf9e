import CAgentOS

/// Why a generation ended. Mirrors AOS_FINISH_* in agentos.h.
public enum FinishReason: String, Sendable, Codable {
    /// The model ended its turn, or a stop string matched.
    case stop
    /// `maxTokens` were generated, or the context filled.
    case length
    /// Cancelled by the caller, a stream callback, or unload.
    case cancelled

    var abiValue: UInt32 {
        switch self {
        case .stop: AOS_FINISH_STOP
        case .length: AOS_FINISH_LENGTH
        case .cancelled: AOS_FINISH_CANCELLED
        }
    }
}

/// Token counts and timings of one request, in nanoseconds from its submission.
public struct InferenceUsage: Sendable, Equatable {
    public var promptTokens = 0
    /// Of `promptTokens`, those whose KV the engine reused from an earlier
    /// request instead of computing (OpenAI's `cached_tokens`).
    public var cachedPromptTokens = 0
    public var completionTokens = 0
    /// Submitted until the engine took it.
    public var queueNanos: UInt64 = 0
    /// Submitted until the first generated token; 0 when none was generated.
    public var timeToFirstTokenNanos: UInt64 = 0
    /// Submitted until finished.
    public var totalNanos: UInt64 = 0
    /// Time in the engine (taken until finished); with tools, summed over the
    /// model's turns, so `totalNanos - engineNanos` is the kernel's own part.
    public var engineNanos: UInt64 = 0

    public init() {}
}

/// What a finished request produced.
public struct InferenceResult: Sendable, Equatable {
    public let requestID: UInt64
    public let text: String
    public let finishReason: FinishReason
    public let usage: InferenceUsage
    /// The tools the model called in this turn (engines fill it when tools were offered).
    public var toolCalls: [ToolCallRequest] = []
    /// The tool loop's calls, in order; nil when the request offered no tools.
    public var steps: [ToolCallRecord]?

    public init(
        requestID: UInt64, text: String, finishReason: FinishReason, usage: InferenceUsage,
        toolCalls: [ToolCallRequest] = [], steps: [ToolCallRecord]? = nil
    ) {
        self.requestID = requestID
        self.text = text
        self.finishReason = finishReason
        self.usage = usage
        self.toolCalls = toolCalls
        self.steps = steps
    }
}
