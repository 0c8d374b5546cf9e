import Foundation

/// `GET /v1/instances/NAME/capabilities`, and the answer to a `CapabilityChange`:
/// what an instance asks for, holds, and lacks (`agentctl caps`).
public struct CapabilitiesInfo: Codable, Sendable, Equatable {
    /// The instance's name.
    public var agent: String
    /// What its descriptor asks for, as written there.
    public var requested: [String]
    /// What it holds, in the order granted.
    public var granted: [String]
    /// Requested but not covered by a grant (or not a capability at all).
    public var missing: [String]

    public init(agent: String, requested: [String], granted: [String], missing: [String]) {
        self.agent = agent
        self.requested = requested
        self.granted = granted
        self.missing = missing
    }
}

/// `POST /v1/instances/NAME/capabilities`: grant or revoke one capability
/// (`infer`, `kv`, `admin`, `tool:GLOB`, `send:GLOB`). Exactly one of the two is set.
public struct CapabilityChange: Codable, Sendable, Equatable {
    public var grant: String?
    /// Revokes it and every narrower capability it covers.
    public var revoke: String?

    public init(grant: String? = nil, revoke: String? = nil) {
        self.grant = grant
        self.revoke = revoke
    }
}

/// One quota of one instance: its limit, where the instance stands, and what it refused.
/// Every key is always present; `limit` is null when unlimited.
public struct QuotaInfo: Codable, Sendable, Equatable {
    /// The snake_case name users type (`tokens_per_minute`).
    public var key: String
    /// nil = unlimited.
    public var limit: Int?
    /// Where the instance stands against it now, where that has a meaning
    /// (for a per-minute rate that is set, what was spent in the last minute;
    /// budget used; requests in flight; messages queued); nil elsewhere.
    public var use: Int?
    /// What this quota refused so far.
    public var refusals: Int

    public init(key: String, limit: Int?, use: Int?, refusals: Int) {
        self.key = key
        self.limit = limit
        self.use = use
        self.refusals = refusals
    }

    enum CodingKeys: String, CodingKey {
        case key, limit, use, refusals
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(limit, forKey: .limit)
        try container.encode(use, forKey: .use)
        try container.encode(refusals, forKey: .refusals)
    }
}

/// `GET /v1/instances/NAME/quotas`, and the answer to a `QuotaChange` (`agentctl quota`).
public struct QuotasInfo: Codable, Sendable, Equatable {
    /// The instance's name.
    public var agent: String
    /// Every quota, in the kernel's display order.
    public var quotas: [QuotaInfo]
    /// Inference requests held back for tokens_per_minute budget now.
    public var throttledRequests: Int
    /// CPU time of the instance's thread (handlers, init, stop, queued tool calls).
    public var cpuSeconds: Double

    public init(agent: String, quotas: [QuotaInfo], throttledRequests: Int, cpuSeconds: Double) {
        self.agent = agent
        self.quotas = quotas
        self.throttledRequests = throttledRequests
        self.cpuSeconds = cpuSeconds
    }
}

/// `PATCH /v1/instances/NAME/quotas`: set quotas by key, each from text
/// (`20000`, `20k`, `1M`, `unlimited`). All are checked before any applies:
/// one bad key or value changes nothing.
public struct QuotaChange: Codable, Sendable, Equatable {
    public var set: [String: String]

    public init(set: [String: String]) {
        self.set = set
    }
}

/// One record of the kernel's audit log: a denial, a grant or a revoke.
/// Every key is always present; the optional ones are null when they do not apply.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var time: Date
    /// The instance concerned; nil for a control-socket peer.
    public var agent: String?
    /// What was attempted: a syscall ("send", "tool_call", "infer"), "tool_loop", "connect", "load" or "agentctl".
    public var syscall: String
    /// The capability checked, granted or revoked.
    public var capability: String?
    /// The quota exhausted.
    public var quota: String?
    /// deny, grant or revoke.
    public var decision: String
    public var reason: String
    /// Identical denials left out just before this one.
    public var repeated: Int?

    public init(
        time: Date, agent: String?, syscall: String, capability: String?, quota: String?, decision: String,
        reason: String, repeated: Int?
    ) {
        self.time = time
        self.agent = agent
        self.syscall = syscall
        self.capability = capability
        self.quota = quota
        self.decision = decision
        self.reason = reason
        self.repeated = repeated
    }

    enum CodingKeys: String, CodingKey {
        case time, agent, syscall, capability, quota, decision, reason, repeated
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(time, forKey: .time)
        try container.encode(agent, forKey: .agent)
        try container.encode(syscall, forKey: .syscall)
        try container.encode(capability, forKey: .capability)
        try container.encode(quota, forKey: .quota)
        try container.encode(decision, forKey: .decision)
        try container.encode(reason, forKey: .reason)
        try container.encode(repeated, forKey: .repeated)
    }
}

/// `GET /v1/audit[?agent=NAME&since=WHEN]`: audit records, oldest first.
public struct AuditList: Codable, Sendable, Equatable {
    public var records: [AuditEntry]

    public init(records: [AuditEntry]) {
        self.records = records
    }
}
