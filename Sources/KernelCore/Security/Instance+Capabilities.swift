import Metrics

/// The capability checks of the syscall path. Each returns whether the
/// instance may go ahead; a denial is logged in the instance's log, counted in
/// `agentos_capability_denials_total` and audited. Call them on the
/// instance's own thread (they read the delegation of the request it handles).
extension Instance {
    /// Whether the instance holds `infer`, itself or lent.
    @inline(__always)
    func mayInfer(_ syscall: Syscall) -> Bool {
        guard checksPolicy else { return true }
        if grants.withLock({ $0.permitsInfer }) || own.delegation?.permitsInfer == true { return true }
        deny(.infer, syscall: syscall.name)
        return false
    }

    /// Whether the instance holds `admin`, itself or lent.
    func mayAdminister(_ syscall: Syscall) -> Bool {
        guard checksPolicy else { return true }
        if grants.withLock({ $0.permitsAdmin }) || own.delegation?.permitsAdmin == true { return true }
        deny(.admin, syscall: syscall.name)
        return false
    }

    /// Whether the instance holds a `tool:` capability matching `name`, itself or lent.
    @inline(__always)
    func mayCallTool(_ name: String, _ syscall: Syscall) -> Bool {
        guard checksPolicy else { return true }
        if permitsTool(name) { return true }
        deny(.tool(name), syscall: syscall.name)
        return false
    }

    /// Whether the instance holds a `send:` capability matching `name`, itself or lent.
    @inline(__always)
    func maySend(to name: String, _ syscall: Syscall) -> Bool {
        guard checksPolicy else { return true }
        if grants.withLock({ $0.permitsSend(to: name) }) || own.delegation?.permitsSend(to: name) == true { return true }
        deny(.send(name), syscall: syscall.name)
        return false
    }

    /// The check without the denial's bookkeeping (to filter what is offered).
    func permitsTool(_ name: String) -> Bool {
        grants.withLock { $0.permitsTool(name) } || own.delegation?.permitsTool(name) == true
    }

    /// What the instance may do now: its grants and what its current request lends it.
    var effectiveCapabilities: CapabilitySet {
        var effective = grants.withLock { $0 }
        for capability in own.delegation?.capabilities ?? [] { effective.insert(capability) }
        return effective
    }

    /// Tells a process-mode host's syscall filter what the grants allow
    /// (`net`, `spawn`), from its next start. Call after each change of grants.
    func sandboxHost() {
        image.sandboxHost(grants.withLock { $0.hostAllowances })
    }

    /// Records that `syscall` needed `capability`, which the instance does not hold.
    func deny(_ capability: Capability, syscall: String, reason: String? = nil) {
        let reason = reason ?? "\(name) does not hold \(capability) (grant it with `agentctl grant \(name) \(capability)` or in policy.yaml)"
        log.append(.warn, .kernel, "\(syscall): permission denied: \(reason)")
        LastError.record("permission denied: \(reason)")
        metrics.series.counter(MetricName.capabilityDenials, [("agent", name), ("capability", capability.description)]).increment()
        audit?.record(AuditRecord(agent: name, syscall: syscall, capability: capability.description, decision: .deny, reason: reason))
    }
}
