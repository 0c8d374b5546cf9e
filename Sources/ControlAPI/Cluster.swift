/// `GET /v1/cluster/nodes`: the cluster as this kernel sees it (`agentctl nodes`, `ps --cluster`).
public struct ClusterInfo: Codable, Sendable, Equatable {
    /// This kernel's node name; nil when it is not in a cluster.
    public var node: String?
    /// Whether the link to the NATS server is up.
    public var linkUp: Bool
    /// Every node known, this one first.
    public var nodes: [NodeInfo]
    /// Frames from the cluster rejected so far, and why the last one was.
    public var rejectedFrames: UInt64
    public var lastRejectedFrame: String?

    public init(node: String?, linkUp: Bool, nodes: [NodeInfo], rejectedFrames: UInt64, lastRejectedFrame: String?) {
        self.node = node
        self.linkUp = linkUp
        self.nodes = nodes
        self.rejectedFrames = rejectedFrames
        self.lastRejectedFrame = lastRejectedFrame
    }
}

/// One node: what it announced and when.
public struct NodeInfo: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var engine: String
    /// Its running agents, in load order.
    public var agents: [String]
    /// Seconds since its last announcement (0 for this node).
    public var lastSeenSeconds: Double
    public var isSelf: Bool

    public init(name: String, version: String, engine: String, agents: [String], lastSeenSeconds: Double, isSelf: Bool) {
        self.name = name
        self.version = version
        self.engine = engine
        self.agents = agents
        self.lastSeenSeconds = lastSeenSeconds
        self.isSelf = isSelf
    }
}
