import Synchronization

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

extension Kernel {
    /// Sets quota `key` of the live instance `name` from text (`20000`, `20k`,
    /// `unlimited`); applies at once and lasts until it is unloaded.
    /// Throws `.notFound`, or `.invalidArgument` for a bad key or value.
    public func setQuota(_ key: String, _ value: String, for name: String) throws(KernelError) -> QuotaReport {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        var limits = instance.quotas.withLock { $0.limits }
        try limits.set(key, value)
        apply(limits, to: instance)
        instance.log.append(.info, .kernel, "quota \(key) set to \(value) by agentctl")
        logger.info("quota set", metadata: ["agent": "\(name)", "quota": "\(key)", "value": "\(value)"])
        return quotaReport(instance)
    }

    /// The quotas of the live instance `name` and its use of them. Throws `.notFound`.
    public func quotas(of name: String) throws(KernelError) -> QuotaReport {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        return quotaReport(instance)
    }

    /// Makes `limits` the instance's quotas: the scheduler's, the tool-call
    /// bucket (its level kept when the rate changes), the mailbox, the message
    /// size and the handler deadline.
    func apply(_ limits: QuotaLimits, to instance: Instance) {
        let now = coarseMonotonicNanos()
        instance.quotas.withLock { quotas in
            quotas.limits = limits
            quotas.toolCallMaxWaitNanos = limits.quotaWaitNanos
            if let rate = limits.toolCallsPerMinute {
                if quotas.toolCalls == nil {
                    quotas.toolCalls = TokenBucket(capacity: rate, refillPerSecond: Double(rate) / 60, now: now)
                } else {
                    quotas.toolCalls!.reconfigure(capacity: rate, refillPerSecond: Double(rate) / 60, now: now)
                }
            } else {
                quotas.toolCalls = nil
            }
        }
        instance.messageBytesQuota.store(limits.messageBytes ?? .max, ordering: .relaxed)
        let deadline = limits.handlerDeadlineMs.map { Double($0) / 1000 } ?? configuration.handlerDeadline
        instance.handlerDeadlineNanos.store(UInt64(deadline * 1e9), ordering: .relaxed)
        instance.mailbox.resize(to: limits.mailboxDepth ?? configuration.mailboxCapacity)
        scheduler.setQuota(limits.inference, for: instance.name)
    }

    /// Sends the scheduler's quota refusals to the instance they concern.
    func routeQuotaRefusals() {
        scheduler.onQuotaRefusal = { [weak self] agent, quota, message in
            self?.table.lookup(agent)?.refuseQuota(quota, syscall: "infer", reason: message)
        }
    }

    func quotaReport(_ instance: Instance) -> QuotaReport {
        let now = coarseMonotonicNanos()
        let (limits, toolCallsLastMinute, refusals) = instance.quotas.withLock {
            ($0.limits, $0.toolCallsLastMinute.total(now: now), $0.refusals)
        }
        let inference = scheduler.quotaUse(of: instance.name)
        let entries = limits.entries.map { key, limit in
            let use: Int? = switch key {
            case "tokens_per_minute": limit.map { _ in inference.tokensLastMinute }
            case "token_budget": inference.tokensUsed
            case "concurrent_inference": inference.inFlight
            case "tool_calls_per_minute": limit.map { _ in toolCallsLastMinute }
            case "mailbox_depth": instance.mailbox.depth
            default: nil
            }
            return QuotaEntry(key: key, limit: limit, use: use, refusals: refusals[key] ?? 0)
        }
        return QuotaReport(
            agent: instance.name, entries: entries, throttledRequests: inference.throttled,
            cpuSeconds: Double(instance.cpuNanos) / 1e9)
    }
}
