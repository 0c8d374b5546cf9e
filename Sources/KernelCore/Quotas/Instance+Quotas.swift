import Metrics

/// One instance's quotas as the kernel keeps them: the limits, the bucket
/// of its tool-call rate, and what each quota refused so far.
struct InstanceQuotas: Sendable {
    var limits = QuotaLimits()
    /// On `coarseMonotonicNanos`, as is `toolCallsLastMinute`.
    var toolCalls: TokenBucket?
    /// Calls admitted in the last minute while tool_calls_per_minute is set.
    var toolCallsLastMinute = MinuteSpend()
    /// `limits.quotaWaitNanos`, worked out when the limits are set.
    var toolCallMaxWaitNanos = QuotaLimits().quotaWaitNanos
    var refusals: [String: Int] = [:]
}

extension Instance {
    /// Takes one call from the tool_calls_per_minute budget. Returns the
    /// nanoseconds to wait before the call may run (0: at once), or nil when
    /// the wait would pass quota_wait_ms: the call is then refused (and not charged).
    func admitToolCall() -> UInt64? {
        guard checksPolicy else { return 0 }
        return quotas.withLock { quotas in
            guard var bucket = quotas.toolCalls else { return 0 }
            let now = coarseMonotonicNanos()
            bucket.charge(1, now: now)
            let wait = bucket.balance(now: now) >= 0 ? 0 : bucket.nanosUntilPositive(now: now)
            guard wait <= quotas.toolCallMaxWaitNanos else { return nil }
            quotas.toolCalls = bucket
            quotas.toolCallsLastMinute.add(1, now: now)
            return wait
        }
    }

    /// Why `admitToolCall` refused.
    var toolRateRefusal: String {
        let limits = quotas.withLock { $0.limits }
        let wait = limits.quotaWaitMs ?? QuotaLimits.defaultQuotaWaitMs
        return "\(name) is over its tool_calls_per_minute quota (\(limits.toolCallsPerMinute ?? 0)); the next call would wait more than quota_wait_ms (\(wait))"
    }

    /// Sleeps `nanos` on the instance's own thread, waking early only when the
    /// instance is unloaded. Returns false in that case.
    func sleepForQuota(_ nanos: UInt64) -> Bool {
        guard nanos > 0 else { return true }
        let until = monotonicNanos() &+ nanos
        guard beginWait(on: parker) else { return false }
        defer { endWait() }
        return parker.withLock {
            while !stopRequested.load(ordering: .relaxed) {
                if !parker.wait(until: until) { return true }
            }
            return false
        }
    }

    /// Records a refusal by quota `key` of `syscall`: counted in `agentctl quota`
    /// and `agentos_quota_refusals_total`, logged and audited.
    func refuseQuota(_ key: String, syscall: String, reason: String) {
        quotas.withLock { $0.refusals[key, default: 0] += 1 }
        log.append(.warn, .kernel, "\(syscall): quota exceeded: \(reason)")
        LastError.record("quota exceeded: \(reason)")
        metrics.series.counter(MetricName.quotaRefusals, [("agent", name), ("quota", key)]).increment()
        audit?.record(AuditRecord(agent: name, syscall: syscall, quota: key, decision: .deny, reason: reason))
    }

    /// CPU time of the instance's thread so far (its final figure once it ended).
    public var cpuNanos: UInt64 { thread.cpuNanos }
}
