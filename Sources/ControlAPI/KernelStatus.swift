import Foundation

/// `GET /v1/version`: what `agentctl version` prints for the kernel side.
public struct VersionInfo: Codable, Sendable, Equatable {
    public var version: String
    public var abiMajor: Int
    public var abiMinor: Int

    public init(version: String, abiMajor: Int, abiMinor: Int) {
        self.version = version
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
    }
}

/// `GET /v1/status`: the kernel at a glance.
public struct KernelStatus: Codable, Sendable, Equatable {
    public var version: String
    public var abiMajor: Int
    public var abiMinor: Int
    public var pid: Int32
    public var home: String
    public var pluginsDir: String?
    public var startedAt: Date
    public var uptimeSeconds: Double
    /// Instances per state name ("running": 3, ...). States with none are absent.
    public var instances: [String: Int]
    /// Messages the kernel has queued since start, and ones it refused.
    public var messagesDelivered: UInt64
    public var messagesRefused: UInt64
    /// Why the kernel is not ready (`GET /readyz`); empty when it is.
    public var notReady: [String]
    /// The instances restored from state.sqlite at start (absent from older kernels).
    public var restore: RestoreInfo?
    /// The crash records the start found (absent from older kernels).
    public var crashes: CrashList?

    public init(
        version: String, abiMajor: Int, abiMinor: Int, pid: Int32, home: String, pluginsDir: String?,
        startedAt: Date, uptimeSeconds: Double, instances: [String: Int], messagesDelivered: UInt64,
        messagesRefused: UInt64, notReady: [String], restore: RestoreInfo? = nil, crashes: CrashList? = nil
    ) {
        self.version = version
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
        self.pid = pid
        self.home = home
        self.pluginsDir = pluginsDir
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.instances = instances
        self.messagesDelivered = messagesDelivered
        self.messagesRefused = messagesRefused
        self.notReady = notReady
        self.restore = restore
        self.crashes = crashes
    }
}

/// `GET /livez` and `GET /readyz`: "ok", "ready" or "not ready", and why not.
public struct HealthStatus: Codable, Sendable, Equatable {
    public var status: String
    public var reasons: [String]

    public init(status: String, reasons: [String]) {
        self.status = status
        self.reasons = reasons
    }
}
