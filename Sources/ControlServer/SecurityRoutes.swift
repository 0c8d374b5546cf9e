import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The capability, quota and audit part of the control API: `agentctl caps`,
/// `grant`, `revoke`, `quota` and `audit`.
///
///     GET   /v1/instances/NAME/capabilities   → CapabilitiesInfo
///     POST  /v1/instances/NAME/capabilities   CapabilityChange → CapabilitiesInfo
///     GET   /v1/instances/NAME/quotas         → QuotasInfo
///     PATCH /v1/instances/NAME/quotas         QuotaChange → QuotasInfo (all set, or none)
///     GET   /v1/audit[?agent=NAME&since=WHEN] → AuditList (WHEN: 10m, 2h, 7d or an RFC 3339 time)
///
/// A bad capability text or quota setting is 400 `invalid_argument` with the kernel's message.
enum SecurityRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, bodyLimit: Int) {
        v1.get("instances/:name/capabilities") { _, context in
            let name = try context.parameters.require("name")
            return try JSONResponse.make(CapabilitiesInfo(try kernel.capabilities.report(of: name)))
        }

        v1.post("instances/:name/capabilities") { request, context in
            let name = try context.parameters.require("name")
            let change = try await JSONResponse.decode(CapabilityChange.self, from: request, limit: bodyLimit)
            let report = switch (change.grant, change.revoke) {
            case (let grant?, nil): try kernel.capabilities.grant(try Capability(parsing: grant), to: name)
            case (nil, let revoke?): try kernel.capabilities.revoke(try Capability(parsing: revoke), from: name)
            default: throw KernelError(.invalidArgument, #"give exactly one of "grant" and "revoke""#)
            }
            return try JSONResponse.make(CapabilitiesInfo(report))
        }

        v1.get("instances/:name/quotas") { _, context in
            let name = try context.parameters.require("name")
            return try JSONResponse.make(QuotasInfo(try kernel.quotas.report(of: name)))
        }

        v1.patch("instances/:name/quotas") { request, context in
            let name = try context.parameters.require("name")
            let change = try await JSONResponse.decode(QuotaChange.self, from: request, limit: bodyLimit)
            guard !change.set.isEmpty else {
                throw KernelError(.invalidArgument, #""set" names no quota; the quotas are \#(QuotaLimits.keys.joined(separator: ", "))"#)
            }
            // In display order, every one checked before any applies: a bad one changes nothing.
            func rank(_ key: String) -> (Int, String) { (QuotaLimits.keys.firstIndex(of: key) ?? QuotaLimits.keys.count, key) }
            let settings = change.set.sorted { rank($0.key) < rank($1.key) }
            var check = QuotaLimits()
            for (key, value) in settings { try check.set(key, value) }
            for (key, value) in settings { _ = try kernel.quotas.set(key, value, for: name) }
            return try JSONResponse.make(QuotasInfo(try kernel.quotas.report(of: name)))
        }

        v1.get("audit") { request, _ in
            let agent = request.uri.queryParameters.get("agent")
            let since = try request.uri.queryParameters.get("since").map { text in
                guard let date = SinceTime.date(text) else {
                    throw RequestError.badQuery("query parameter since=\(text) should be \(SinceTime.accepted)")
                }
                return date
            }
            let records = try kernel.capabilities.auditRecords(agent: agent, since: since)
            return try JSONResponse.make(AuditList(records: records.map(AuditEntry.init)))
        }
    }
}

extension CapabilitiesInfo {
    init(_ report: CapabilityReport) {
        self.init(agent: report.agent, requested: report.requested, granted: report.granted, missing: report.missing)
    }
}

extension QuotasInfo {
    init(_ report: QuotaReport) {
        self.init(
            agent: report.agent,
            quotas: report.entries.map { QuotaInfo(key: $0.key, limit: $0.limit, use: $0.use, refusals: $0.refusals) },
            throttledRequests: report.throttledRequests, cpuSeconds: report.cpuSeconds)
    }
}

extension AuditEntry {
    init(_ record: AuditRecord) {
        self.init(
            time: record.time, agent: record.agent, syscall: record.syscall, capability: record.capability,
            quota: record.quota, decision: record.decision.rawValue, reason: record.reason, repeated: record.repeated)
    }
}

extension InstanceInfo {
    /// Adds what a live instance holds and uses: its grants, quotas and CPU
    /// time. Leaves an ended instance (or one whose name a newer instance took) as it is.
    mutating func addSecurity(from kernel: Kernel) {
        guard kernel.instance(named: name)?.id == id,
              let capabilities = try? kernel.capabilities.report(of: name), let quotas = try? kernel.quotas.report(of: name)
        else { return }
        granted = capabilities.granted
        missing = capabilities.missing
        let wire = QuotasInfo(quotas)
        self.quotas = wire.quotas
        throttledRequests = wire.throttledRequests
        cpuSeconds = wire.cpuSeconds
    }
}
