import Foundation

/// All the control API says of one instance (`GET /v1/instances/NAME`, and the
/// answers to load and unload): its descriptor, what it has done, and while it
/// runs its grants, quotas and CPU time. `ps` lists less of each (`InstanceRow`).
public struct InstanceInfo: Codable, Sendable, Equatable {
    /// Instance name, unique among live instances.
    public var name: String
    /// Kernel-minted id, never reused in a kernel's run.
    public var id: UInt64
    /// loading, running, stopping, stopped, failed or hung.
    public var state: String
    /// The file the instance was loaded from (not the private copy).
    public var plugin: String
    /// The descriptor's own name, version, one-line description and kind ("agent").
    public var pluginName: String
    public var version: String
    public var description: String
    public var kind: String
    /// Capabilities the descriptor requests.
    public var capabilities: [String]
    /// "agentctl" or "plugins_dir": who asked for the load.
    public var origin: String
    public var loadedAt: Date
    public var uptimeSeconds: Double
    public var messagesIn: UInt64
    public var messagesOut: UInt64
    public var mailboxDepth: Int
    public var mailboxLimit: Int
    /// Senders blocked waiting for room in its mailbox (back-pressure); nil from kernels before it.
    public var sendersWaiting: Int?
    /// The last error the instance hit (init status, handler status, hang), if any.
    public var lastError: String?
    /// Inference use under this instance's name since the kernel started.
    public var inference: InferenceUse?
    /// Live instances only: the capabilities it holds, in the order granted.
    public var granted: [String]?
    /// Live instances only: requested capabilities no grant covers.
    public var missing: [String]?
    /// Live instances only: every quota, its use and refusals.
    public var quotas: [QuotaInfo]?
    /// Live instances only: inference requests held back for tokens_per_minute budget now.
    public var throttledRequests: Int?
    /// Live instances only: CPU time of the instance's thread.
    public var cpuSeconds: Double?
    /// "thread" or "process"; nil from a kernel before process isolation.
    public var isolation: String?
    /// Its `agentos-host` in process mode; nil in thread mode.
    public var host: HostRow?

    public init(
        name: String, id: UInt64, state: String, plugin: String, pluginName: String, version: String,
        description: String, kind: String, capabilities: [String], origin: String, loadedAt: Date,
        uptimeSeconds: Double, messagesIn: UInt64, messagesOut: UInt64, mailboxDepth: Int, mailboxLimit: Int,
        lastError: String?, inference: InferenceUse? = nil, granted: [String]? = nil, missing: [String]? = nil,
        quotas: [QuotaInfo]? = nil, throttledRequests: Int? = nil, cpuSeconds: Double? = nil, sendersWaiting: Int? = nil,
        isolation: String? = nil, host: HostRow? = nil
    ) {
        self.isolation = isolation
        self.host = host
        self.sendersWaiting = sendersWaiting
        self.inference = inference
        self.granted = granted
        self.missing = missing
        self.quotas = quotas
        self.throttledRequests = throttledRequests
        self.cpuSeconds = cpuSeconds
        self.name = name
        self.id = id
        self.state = state
        self.plugin = plugin
        self.pluginName = pluginName
        self.version = version
        self.description = description
        self.kind = kind
        self.capabilities = capabilities
        self.origin = origin
        self.loadedAt = loadedAt
        self.uptimeSeconds = uptimeSeconds
        self.messagesIn = messagesIn
        self.messagesOut = messagesOut
        self.mailboxDepth = mailboxDepth
        self.mailboxLimit = mailboxLimit
        self.lastError = lastError
    }
}
