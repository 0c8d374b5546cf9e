import Foundation

/// Where a kernel keeps everything it writes at runtime: `$AGENTOS_HOME`,
/// default `./.agentos`. `agentosd`, `agentctl` and the tests all resolve it
/// the same way, so several kernels can run side by side on separate homes.
public struct AgentOSHome: Sendable, Equatable {
    /// Absolute path of the home directory.
    public let path: String

    /// The home named by `$AGENTOS_HOME`, else `./.agentos`, made absolute.
    public static func fromEnvironment() -> AgentOSHome {
        let raw = ProcessInfo.processInfo.environment["AGENTOS_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ".agentos"
        return AgentOSHome(path: raw)
    }

    /// A home at `path`; a relative path is taken from the current directory.
    public init(path: String) {
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        self.path = url.standardizedFileURL.path
    }

    /// The control socket: `HOME/agentosd.sock`.
    public var socketPath: String { path + "/agentosd.sock" }
    /// The lock that keeps a second kernel off this home: `HOME/agentosd.lock`.
    public var lockPath: String { path + "/agentosd.lock" }
    /// Private copies of loaded plugins: `HOME/plugins`.
    public var pluginCopiesPath: String { path + "/plugins" }
    /// Users' ratings of answers (`agentctl feedback`): `HOME/feedback.sqlite`.
    public var feedbackDatabasePath: String { path + "/feedback.sqlite" }
    /// The kernel's state (storage namespaces; `StateDatabase`): `HOME/state.sqlite`.
    public var stateDatabasePath: String { path + "/state.sqlite" }
    /// Where a thread-mode crash leaves its record for the next start: `HOME/crash`.
    public var crashRecordsPath: String { path + "/crash" }

    /// What each plugin is granted and may use (`PolicyFile`): `HOME/policy.yaml`.
    public var policyPath: String { path + "/policy.yaml" }
    /// The OpenAI-compatible API's keys, hashed (`agentctl keys`): `HOME/api-keys.json`.
    public var apiKeysPath: String { path + "/api-keys.json" }
    /// Denials, grants and revokes, one JSON object per line: `HOME/audit.jsonl`.
    public var auditLogPath: String { path + "/audit.jsonl" }

    /// `path` as the user would write it: relative to the current directory when inside it.
    public var displayPath: String {
        let cwd = FileManager.default.currentDirectoryPath
        if path.hasPrefix(cwd + "/") { return "." + path.dropFirst(cwd.count) }
        return path
    }

    /// `socketPath` shortened the same way as `displayPath`.
    public var displaySocketPath: String { displayPath + "/agentosd.sock" }
}
