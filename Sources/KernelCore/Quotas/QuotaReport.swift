/// One quota of one instance, for `agentctl quota` and `ps -o json`.
public struct QuotaEntry: Sendable, Equatable {
    public let key: String
    /// nil = unlimited.
    public let limit: Int?
    /// Where the instance stands against it now, where that has a meaning:
    /// for a rate that is set, what was spent in the last minute (a full
    /// bucket's burst and its refill can take it past the limit); tokens used
    /// of the budget; requests in flight; messages queued.
    public let use: Int?
    /// What this quota refused so far.
    public let refusals: Int
}

/// One instance's quotas and CPU time.
public struct QuotaReport: Sendable, Equatable {
    public let agent: String
    public let entries: [QuotaEntry]
    /// Inference requests held back for tokens_per_minute budget now.
    public let throttledRequests: Int
    /// CPU time of the instance's thread (handlers, init, stop, queued tool calls).
    public let cpuSeconds: Double
}
