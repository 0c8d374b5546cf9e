import Foundation

/// What the kernel keeps of an instance loaded through the control API
/// (`agentctl load`), so a restarted kernel can load it again exactly so:
/// its name, the file it came from and that file's SHA-256, and its settings
/// (config, priority, isolation, restart policy, grants, quotas). A value.
public struct InstanceRecord: Sendable, Equatable {
    public var name: String
    /// The file the operator named (not the private copy).
    public var plugin: String
    /// SHA-256 of the content that was loaded, as 64 lowercase hex digits.
    public var sha256: String
    public var config: String
    public var priority: Int
    public var isolation: Isolation
    /// The restart policy of a process-mode instance; nil in thread mode.
    public var restart: RestartPolicy?
    /// Capability texts the instance holds, as `agentctl caps` shows them.
    public var grants: [String]
    /// Quotas with a limit (the others are unlimited), by key.
    public var quotas: [String: Int]
    /// When it was loaded: instances are restored oldest first.
    public var loadedAt: Date

    public init(
        name: String, plugin: String, sha256: String, config: String, priority: Int, isolation: Isolation,
        restart: RestartPolicy?, grants: [String], quotas: [String: Int], loadedAt: Date
    ) {
        self.name = name
        self.plugin = plugin
        self.sha256 = sha256
        self.config = config
        self.priority = priority
        self.isolation = isolation
        self.restart = restart
        self.grants = grants
        self.quotas = quotas
        self.loadedAt = loadedAt
    }

    /// The live instance's current settings. Nil when its image does not know
    /// its content's hash (in-process test images): such an instance cannot be
    /// restored, so it is not recorded.
    init?(_ instance: Instance) {
        guard let sha256 = instance.image.contentSHA256 else { return nil }
        let limits = instance.quotas.withLock { $0.limits }
        var quotas: [String: Int] = [:]
        for (key, value) in limits.entries { if let value { quotas[key] = value } }
        self.init(
            name: instance.name, plugin: instance.image.sourcePath, sha256: sha256, config: instance.config,
            priority: instance.priority, isolation: instance.image.isolation, restart: instance.image.restartPolicy,
            grants: instance.grants.withLock { $0.capabilities.map(\.description) }, quotas: quotas,
            loadedAt: instance.loadedAt)
    }

    /// The grants and quotas parsed back. Throws `.invalidArgument` naming what
    /// in the record the kernel no longer accepts.
    func parsedSettings() throws(KernelError) -> (grants: [Capability], quotas: QuotaLimits) {
        var limits = QuotaLimits()
        for (key, value) in quotas.sorted(by: { $0.key < $1.key }) { try limits.set(key, String(value)) }
        return (try grants.map { text throws(KernelError) in try Capability(parsing: text) }, limits)
    }
}

/// Where instance records are kept: the state database (`StateStore`'s
/// `SQLiteInstanceRecordStore`), or none. Implementations are thread-safe;
/// each call is one transaction.
public protocol InstanceRecordStore: Sendable {
    /// Adds the record, or replaces the one with its name.
    func save(_ record: InstanceRecord) throws(InstanceRecordStoreError)
    /// Removes the record named `name`; returns whether there was one.
    func remove(name: String) throws(InstanceRecordStoreError) -> Bool
    /// Every record, oldest load first. Rows that cannot be read come back as
    /// `unreadable` (name and why), never dropped silently.
    func all() throws(InstanceRecordStoreError) -> (records: [InstanceRecord], unreadable: [(name: String, problem: String)])
}

/// The store cannot serve the call; the text is the operator's line (`StateStoreError`).
public struct InstanceRecordStoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
