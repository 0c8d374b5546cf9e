import Logging

/// Sets and reports instances' quotas. The checks themselves run where the
/// quota applies (messages, tool calls, the scheduler's token buckets).
/// Thread-safe: each instance's quotas sit behind its own lock.
public final class QuotaService: Sendable {
    private let table: InstanceTable
    private let scheduler: InferenceScheduler
    private let configuration: KernelConfiguration
    private let logger: Logger
    /// Reports the use of kv_keys and kv_bytes (the instance's own namespace).
    private let storage: StorageService
    /// Keeps each change for the next start.
    private let records: InstanceRecordService

    init(
        table: InstanceTable, scheduler: InferenceScheduler, storage: StorageService, records: InstanceRecordService,
        configuration: KernelConfiguration, logger: Logger
    ) {
        self.table = table
        self.records = records
        self.scheduler = scheduler
        self.storage = storage
        self.configuration = configuration
        self.logger = logger
        routeQuotaRefusals()
    }

    /// Sets quota `key` of the live instance `name` from text (`20000`, `20k`,
    /// `unlimited`); applies at once and lasts until it is unloaded (across
    /// kernel restarts for an instance loaded through the control API).
    /// Throws `.notFound`, or `.invalidArgument` for a bad key or value.
    public func set(_ key: String, _ value: String, for name: String) throws(KernelError) -> QuotaReport {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        if QuotaLimits.hostKeys.contains(key), instance.image.isolation == .thread {
            throw KernelError(
                .invalidArgument,
                "\(key) is enforced by the OS on a process-mode instance's host, and \(name) runs in thread mode (load it with --isolation process)")
        }
        var limits = instance.quotas.withLock { $0.limits }
        try limits.set(key, value)
        apply(limits, to: instance)
        instance.log.append(.info, .kernel, "quota \(key) set to \(value) by agentctl")
        logger.info("quota set", metadata: ["agent": "\(name)", "quota": "\(key)", "value": "\(value)"])
        records.record(instance)
        return quotaReport(instance)
    }

    /// The quotas of the live instance `name` and its use of them. Throws `.notFound`.
    public func report(of name: String) throws(KernelError) -> QuotaReport {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        return quotaReport(instance)
    }

    /// Makes `limits` the instance's quotas: the scheduler's, the tool-call
    /// bucket (its level kept when the rate changes), the mailbox, the message
    /// size, the handler deadline, and a process-mode host's OS limits.
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
        instance.image.limitHost(handlerDeadlineMs: limits.handlerDeadlineMs, memoryBytes: limits.memoryBytes, cpuSeconds: limits.cpuSeconds)
        if instance.image.isolation == .thread, limits.memoryBytes != nil || limits.cpuSeconds != nil {
            instance.log.append(.warn, .kernel, "memory_bytes and cpu_seconds are not enforced in thread mode (load with --isolation process)")
        }
        instance.mailbox.resize(to: limits.mailboxDepth ?? configuration.mailboxCapacity)
        scheduler.setQuota(limits.inference, for: instance.name)
    }

    /// Sends the scheduler's quota refusals to the instance they concern.
    private func routeQuotaRefusals() {
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
        // Only when limited: the count is one read of the state database.
        let stored = limits.kvKeys != nil || limits.kvBytes != nil ? storage.usage(of: instance.name) : nil
        // The host's limits: a process-mode instance's alone, with its host's use of them.
        let process = instance.image.isolation == .process
        let host = process ? instance.image.hostStatus?.pid.flatMap(HostUsage.init(pid:)) : nil
        let entries = limits.entries.filter { process || !QuotaLimits.hostKeys.contains($0.key) }.map { key, limit in
            let use: Int? = switch key {
            case "tokens_per_minute": limit.map { _ in inference.tokensLastMinute }
            case "token_budget": inference.tokensUsed
            case "concurrent_inference": inference.inFlight
            case "tool_calls_per_minute": limit.map { _ in toolCallsLastMinute }
            case "mailbox_depth": instance.mailbox.depth
            case "kv_keys": limit.flatMap { _ in stored?.keys }
            case "kv_bytes": limit.flatMap { _ in stored?.bytes }
            case "memory_bytes": host?.addressSpaceBytes
            case "cpu_seconds": host?.cpuSeconds
            default: nil
            }
            return QuotaEntry(key: key, limit: limit, use: use, refusals: refusals[key] ?? 0)
        }
        return QuotaReport(
            agent: instance.name, entries: entries, throttledRequests: inference.throttled,
            cpuSeconds: Double(instance.cpuNanos) / 1e9)
    }
}
