import Foundation

/// A snapshot of an instance for `ps`, taken under no lock the caller must hold.
public struct InstanceSummary: Sendable, Equatable {
    /// Who loaded it: agentctl (the control API), the Plugins/ folder, or an agent holding `admin`.
    public enum Origin: String, Sendable { case agentctl, pluginsDir = "plugins_dir", agent }

    public var name: String
    public var id: UInt64
    public var state: InstanceState
    public var plugin: String
    public var pluginName: String
    public var version: String
    public var description: String
    public var kind: String
    public var capabilities: [String]
    public var origin: Origin
    public var loadedAt: Date
    /// When it stopped or failed; nil while live.
    public var endedAt: Date?
    public var messagesIn: UInt64
    public var messagesOut: UInt64
    public var mailboxDepth: Int
    public var mailboxLimit: Int
    /// Senders blocked in `send` or `call` waiting for room in its mailbox (back-pressure).
    public var sendersWaiting: Int
    public var lastError: String?
    /// Where its plugin code runs.
    public var isolation: Isolation = .thread
    /// Its host process in process mode (pid, restarts, last crash); nil in thread mode.
    public var host: HostProcessStatus?

    /// Seconds from load to now, or to the end for a stopped or failed instance.
    public var uptime: Double { (endedAt ?? Date()).timeIntervalSince(loadedAt) }
}
