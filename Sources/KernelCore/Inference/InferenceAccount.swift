/// One agent's inference use since the kernel started, for `agentctl ps`.
public struct InferenceAccount: Sendable, Equatable {
    public var requests: UInt64 = 0
    public var completed: UInt64 = 0
    public var failed: UInt64 = 0
    public var cancelled: UInt64 = 0
    /// Queued or running now.
    public var inFlight = 0
    public var promptTokens: UInt64 = 0
    /// Of `promptTokens`, those reused from the engine's prefix cache.
    public var cachedPromptTokens: UInt64 = 0
    public var completionTokens: UInt64 = 0
    /// Sums over ended requests, in ns; divide by `ended` for means.
    public var queueNanos: UInt64 = 0
    public var timeToFirstTokenNanos: UInt64 = 0
    public var decodeNanos: UInt64 = 0

    public init() {}

    /// Requests that ended with a result (completed or cancelled).
    public var ended: UInt64 { completed + cancelled }

    mutating func add(_ result: InferenceResult) {
        if result.finishReason == .cancelled { cancelled += 1 } else { completed += 1 }
        let usage = result.usage
        promptTokens += UInt64(usage.promptTokens)
        cachedPromptTokens += UInt64(usage.cachedPromptTokens)
        completionTokens += UInt64(usage.completionTokens)
        queueNanos += usage.queueNanos
        timeToFirstTokenNanos += usage.timeToFirstTokenNanos
        if usage.timeToFirstTokenNanos > 0 { decodeNanos += usage.totalNanos &- usage.timeToFirstTokenNanos }
    }
}
