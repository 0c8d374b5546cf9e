/// One agent's standing against its `InferenceQuota`: the quota, its token
/// bucket and its counters. Kept by `InferenceScheduler` under its lock.
struct InferenceQuotaState {
    private(set) var quota: InferenceQuota?
    /// Present while the quota has a `tokensPerMinute`.
    private(set) var bucket: TokenBucket?
    /// Prompt plus completion tokens since this state was created.
    private(set) var tokensUsed = 0
    /// The same tokens, counted by the second over the last minute.
    private(set) var lastMinute = MinuteSpend()
    var refusals = 0

    /// Sets or (nil) removes the quota from `now` on; usage stays. A changed
    /// rate keeps the bucket's balance and debt.
    mutating func apply(_ quota: InferenceQuota?, now: UInt64) {
        self.quota = quota
        guard let rate = quota?.tokensPerMinute else {
            bucket = nil
            return
        }
        if bucket == nil {
            bucket = TokenBucket(capacity: rate, refillPerSecond: Double(rate) / 60, now: now)
        } else {
            bucket!.reconfigure(capacity: rate, refillPerSecond: Double(rate) / 60, now: now)
        }
    }

    /// The agent used `tokens` (prompt plus completion) at `now`.
    mutating func record(_ tokens: Int, now: UInt64) {
        tokensUsed += tokens
        lastMinute.add(tokens, now: now)
        bucket?.charge(tokens, now: now)
    }

    /// True while the bucket is empty or in debt: the agent's queued requests wait.
    func isThrottled(now: UInt64) -> Bool {
        bucket.map { $0.balance(now: now) <= 0 } ?? false
    }

    /// Which quota refuses one more request of `agent`, which has `inFlight`
    /// queued or running, and why; nil when none does.
    func refusal(of agent: String, inFlight: Int) -> (quota: String, message: String)? {
        if let budget = quota?.tokenBudget, tokensUsed >= budget {
            return ("token_budget",
                    "\(agent) has used its token budget (\(budget) tokens); raise it with `agentctl quota \(agent) token_budget=...`")
        }
        if let limit = quota?.concurrentRequests, inFlight >= limit {
            return ("concurrent_inference",
                    "\(agent) already has \(inFlight) inference requests queued or running, its concurrent_inference quota; "
                        + "wait for one to end or raise it with `agentctl quota \(agent) concurrent_inference=...`")
        }
        return nil
    }

    /// How long a request queued at `queuedAt` has waited for budget at
    /// `now`: since it was queued or the agent was throttled, whichever is
    /// later. Nil while the agent is not throttled.
    func budgetWait(ofRequestQueuedAt queuedAt: UInt64, now: UInt64) -> UInt64? {
        guard let since = bucket?.exhaustedSince(now: now) else { return nil }
        let start = max(queuedAt, since)
        return now > start ? now - start : 0
    }

    /// How long a request may wait for budget.
    var maxWaitNanos: UInt64 { quota?.maxWaitNanos ?? InferenceQuota.defaultMaxWaitNanos }

    /// Why a request of `agent` failed after waiting `waitedNanos` for budget.
    func expiryMessage(of agent: String, waitedNanos: UInt64) -> String {
        let tenths = (waitedNanos + 50_000_000) / 100_000_000
        return "\(agent) is over its tokens_per_minute quota (\(quota?.tokensPerMinute ?? 0)); "
            + "the request waited \(tenths / 10).\(tenths % 10) s for budget "
            + "(raise it with `agentctl quota \(agent) tokens_per_minute=...`)"
    }
}
