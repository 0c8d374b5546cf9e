import Foundation

/// What `agentctl caps` shows of one instance.
public struct CapabilityReport: Sendable, Equatable {
    public let agent: String
    /// What its descriptor asks for, as written there.
    public let requested: [String]
    /// What it holds, in the order granted.
    public let granted: [String]
    /// Requested but not covered by a grant (or not a capability at all).
    public let missing: [String]
}
