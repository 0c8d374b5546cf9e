/// What the operator allows each plugin, by instance name: the capabilities
/// it is granted at load and its quotas. Read from `$AGENTOS_HOME/policy.yaml`
/// (see `PolicyFile`) each time a plugin loads, so edits apply to the next load.
public struct Policy: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var grants: [Capability]
        public var quotas: QuotaLimits
        /// Where it runs (`isolation:`); nil leaves it to the load.
        public var isolation: Isolation?
        /// How it is restarted in process mode (`restart:`); nil leaves it to the load.
        public var restart: RestartPolicy?

        public init(
            grants: [Capability] = [], quotas: QuotaLimits = QuotaLimits(), isolation: Isolation? = nil, restart: RestartPolicy? = nil
        ) {
            self.grants = grants
            self.quotas = quotas
            self.isolation = isolation
            self.restart = restart
        }
    }

    /// By instance name (the descriptor's name unless loaded with `--name`).
    public var plugins: [String: Entry]
    /// Quotas of every plugin, under its own.
    public var defaultQuotas: QuotaLimits
    /// A group whose members may use the control socket besides the kernel's user and root.
    public var socketGroup: String?

    public init(plugins: [String: Entry] = [:], defaultQuotas: QuotaLimits = QuotaLimits(), socketGroup: String? = nil) {
        self.plugins = plugins
        self.defaultQuotas = defaultQuotas
        self.socketGroup = socketGroup
    }

    /// What instance `name` gets at load: its grants, and its quotas over the defaults.
    public func entry(for name: String) -> Entry {
        let own = plugins[name] ?? Entry()
        return Entry(grants: own.grants, quotas: own.quotas.merged(over: defaultQuotas), isolation: own.isolation, restart: own.restart)
    }
}

/// Where the kernel reads its policy at each load.
public protocol PolicySource: Sendable {
    /// The policy as it is now. Throws `.badPolicy` naming the file, line and problem.
    func current() throws(KernelError) -> Policy
}
