import Foundation
import Logging

/// Grants, revokes and reports capabilities, and reads the audit log. The
/// checks themselves run on the syscall path (`Instance+Capabilities`).
/// Thread-safe: each instance's grants sit behind its own lock.
public final class CapabilityService: Sendable {
    private let table: InstanceTable
    /// Where denials, grants and revokes are written; nil keeps no audit log.
    public let audit: AuditLog?
    /// Keeps each change for the next start.
    private let records: InstanceRecordService

    init(table: InstanceTable, audit: AuditLog?, records: InstanceRecordService) {
        self.table = table
        self.audit = audit
        self.records = records
    }

    /// Grants `capability` to the live instance `name` and audits it.
    /// Throws `.notFound`, or `.invalidArgument` when it already holds exactly that.
    public func grant(_ capability: Capability, to name: String) throws(KernelError) -> CapabilityReport {
        let instance = try liveInstance(name)
        guard instance.grants.withLock({ $0.insert(capability) }) else {
            throw KernelError(.invalidArgument, "\(name) already holds \(capability)")
        }
        instance.grantsGeneration.add(1, ordering: .relaxed)
        instance.sandboxHost()
        let reason = "granted at runtime by agentctl" + Self.hostNote(capability, instance)
        instance.log.append(.info, .kernel, "\(capability) \(reason)")
        audit?.record(AuditRecord(agent: name, syscall: "agentctl", capability: capability.description, decision: .grant, reason: reason))
        records.record(instance)
        return report(instance)
    }

    /// Revokes from the live instance `name` every capability `capability`
    /// covers (it and anything narrower) and audits each. Calls already past
    /// their check finish; the next check sees the change.
    ///
    /// Throws `.notFound` for an unknown instance or when it holds nothing
    /// `capability` covers (naming a wider grant that covers it, if any).
    public func revoke(_ capability: Capability, from name: String) throws(KernelError) -> CapabilityReport {
        let instance = try liveInstance(name)
        let (removed, wider) = instance.grants.withLock { grants in
            (grants.remove(coveredBy: capability), grants.wider(than: capability))
        }
        guard !removed.isEmpty else {
            if let wider = wider.first {
                throw KernelError(.notFound, "\(name) holds \(wider), which covers \(capability); revoke \(wider) and grant narrower capabilities")
            }
            throw KernelError(.notFound, "\(name) does not hold \(capability) (see `agentctl caps \(name)`)")
        }
        instance.grantsGeneration.add(1, ordering: .relaxed)
        instance.sandboxHost()
        for revoked in removed {
            let reason = "revoked at runtime by agentctl" + Self.hostNote(revoked, instance)
            instance.log.append(.info, .kernel, "\(revoked) \(reason)")
            audit?.record(AuditRecord(agent: name, syscall: "agentctl", capability: revoked.description, decision: .revoke, reason: reason))
        }
        records.record(instance)
        return report(instance)
    }

    /// What a change of `net` or `spawn` means for the instance: a host's
    /// syscall filter is fixed when the host starts; thread mode withholds neither.
    private static func hostNote(_ capability: Capability, _ instance: Instance) -> String {
        guard capability == .net || capability == .spawn else { return "" }
        return instance.image.isolation == .process
            ? " (its host's syscall filter changes when the host next starts)"
            : " (not enforced in thread mode: load with --isolation process)"
    }

    /// Requested, granted and missing capabilities of the live instance `name`. Throws `.notFound`.
    public func report(of name: String) throws(KernelError) -> CapabilityReport {
        report(try liveInstance(name))
    }

    /// The audit log's records (see `AuditLog.records`). Throws `.internal` when the kernel keeps none.
    public func auditRecords(agent: String?, since: Date?) throws(KernelError) -> [AuditRecord] {
        guard let audit else { throw KernelError(.internal, "this kernel keeps no audit log") }
        return audit.records(agent: agent, since: since)
    }

    /// Audits the capabilities an instance got at load, and logs what it asked for and did not get.
    func recordLoadGrants(_ instance: Instance, fromPolicy: [Capability], fromLoad: [Capability], loadSource: String) {
        for (capabilities, source) in [(fromPolicy, "policy.yaml"), (fromLoad, loadSource)] {
            for capability in capabilities {
                audit?.record(AuditRecord(
                    agent: instance.name, syscall: "load", capability: capability.description, decision: .grant,
                    reason: "granted at load by \(source)"))
            }
        }
        let report = report(instance)
        if !report.missing.isEmpty {
            instance.log.append(.warn, .kernel, "requests \(report.missing.joined(separator: ", ")), not granted (see `agentctl caps \(instance.name)`)")
        }
    }

    private func liveInstance(_ name: String) throws(KernelError) -> Instance {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        return instance
    }

    private func report(_ instance: Instance) -> CapabilityReport {
        let granted = instance.grants.withLock { $0 }
        let missing = instance.plugin.capabilities.filter { text in
            guard let capability = try? Capability(parsing: text) else { return true }
            return !granted.covers(capability)
        }
        return CapabilityReport(
            agent: instance.name, requested: instance.plugin.capabilities,
            granted: granted.capabilities.map(\.description), missing: missing)
    }
}
