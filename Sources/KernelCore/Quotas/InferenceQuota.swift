/// One agent's inference limits, as `InferenceScheduler` enforces them
/// (nil = unlimited). Built from `QuotaLimits.inference`.
public struct InferenceQuota: Sendable, Equatable {
    /// Prompt plus completion tokens per minute, with a burst of as many:
    /// over it the agent's queued requests wait for budget (throttle).
    public var tokensPerMinute: Int?
    /// Prompt plus completion tokens in all: once used, new requests are refused.
    public var tokenBudget: Int?
    /// Requests queued or running at once: more are refused.
    public var concurrentRequests: Int?
    /// How long a queued request may wait for `tokensPerMinute` budget
    /// before it fails with `.quotaExceeded`.
    public var maxWaitNanos: UInt64

    public static let defaultMaxWaitNanos: UInt64 = 60_000_000_000

    public init(
        tokensPerMinute: Int? = nil, tokenBudget: Int? = nil, concurrentRequests: Int? = nil,
        maxWaitNanos: UInt64 = InferenceQuota.defaultMaxWaitNanos
    ) {
        self.tokensPerMinute = tokensPerMinute
        self.tokenBudget = tokenBudget
        self.concurrentRequests = concurrentRequests
        self.maxWaitNanos = maxWaitNanos
    }
}

/// Where one agent stands against its `InferenceQuota`, for `agentctl ps`
/// and `agentctl quota`.
public struct InferenceQuotaUse: Sendable, Equatable {
    /// Tokens in the agent's `tokensPerMinute` bucket now, rounded down;
    /// negative while in debt. Nil without a rate.
    public var tokensAvailable: Int?
    /// Prompt plus completion tokens since the agent's quota was first set:
    /// what `tokenBudget` is checked against.
    public var tokensUsed: Int
    /// Of those, the ones used in the last minute: the use of `tokensPerMinute`.
    public var tokensLastMinute: Int
    /// Requests queued or running.
    public var inFlight: Int
    /// Queued requests held back until the bucket refills.
    public var throttled: Int
    /// Requests refused or expired by a quota so far.
    public var refusals: Int

    public init(
        tokensAvailable: Int? = nil, tokensUsed: Int = 0, tokensLastMinute: Int = 0, inFlight: Int = 0, throttled: Int = 0,
        refusals: Int = 0
    ) {
        self.tokensAvailable = tokensAvailable
        self.tokensUsed = tokensUsed
        self.tokensLastMinute = tokensLastMinute
        self.inFlight = inFlight
        self.throttled = throttled
        self.refusals = refusals
    }
}
