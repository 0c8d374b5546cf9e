import APIServer
import ArgumentParser
import ClusterNATS
import ControlAPI
import ControlServer
import Engines
import Feedback
import Foundation
import Hummingbird
import KernelCore
import StateStore
import PolicyFile
import KernelPOSIX
import MCPClients
import Logging
import ServiceLifecycle

/// `agentosd`: the AgentOS kernel daemon.
@main
struct AgentOSD: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "agentosd",
        abstract: "The AgentOS kernel: loads agent plugins and runs each on its own thread with a mailbox.",
        discussion: """
            Everything it writes at runtime lives under $AGENTOS_HOME (default ./.agentos): the control \
            socket agentosd.sock, private copies of loaded plugins, and its lock. Manage it with agentctl. \
            SIGINT or SIGTERM unloads every instance, newest first, and removes the socket.
            """,
        version: version
    )

    @Option(name: .long, help: ArgumentHelp(
        "Read options from this YAML file (keys are the long option names; the command line wins). Default: $AGENTOS_HOME/agentosd.yaml when it exists.",
        valueName: "file"))
    var config: String?

    @Option(name: .long, help: "Drop-in folder to watch for .so files.")
    var plugins = "Plugins"

    @Flag(name: .long, help: "Do not watch a drop-in folder.")
    var noPluginsDir = false

    @Option(name: .long, help: "Where plugins from the drop-in folder run unless policy.yaml says: thread, or process (each in its own agentos-host).")
    var defaultIsolation: Isolation = .thread

    @Flag(name: .long, help: "Start empty: do not load again the instances loaded with agentctl before the last stop or crash (and forget them).")
    var noRestore = false

    @Option(name: .long, help: "Messages each instance's mailbox holds.")
    var mailbox = 1024

    @Option(name: .long, help: "Largest message body, in bytes.")
    var maxMessageBytes = 1 << 20

    @Option(name: .long, help: "Seconds a handler may run before its instance is shown as hung.")
    var handlerDeadline: Double = 10

    @Option(name: .long, help: "Seconds a plugin's init may run before its load fails and it is shown as hung.")
    var initTimeout: Double = 10

    @Option(name: .long, help: "Seconds to wait for each instance at shutdown and for dropped-file unloads.")
    var unloadTimeout: Double = 5

    @Option(name: .long, help: "Days a conversation (session) may go unused before it is deleted.")
    var sessionMaxIdleDays: Double = 30

    @Option(name: .long, help: "Turns a session stores at most; past it, the oldest turns already cut from the prompt are deleted.")
    var sessionMaxTurns = 1000

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format on stderr: text, or json (one object per line).")
    var logFormat: LogFormat = .text

    @Option(name: .long, help: ArgumentHelp("Also serve /metrics, /livez and /readyz over TCP here, for Prometheus.", valueName: "host:port"))
    var metricsAddr: String?

    @Option(name: .long, help: ArgumentHelp(
        "Serve the OpenAI-compatible API here (/v1/models, /v1/chat/completions, /v1/responses), for API keys from `agentctl keys`; off unless given.",
        valueName: "host:port"))
    var apiAddr: String?

    @Flag(name: .long, help: "Record no metrics (/metrics answers 404).")
    var noMetrics = false

    @Option(name: .long, help: ArgumentHelp(
        "Also let this group's members use the control socket (it becomes mode 0660 and the home 0710, both owned by the group).",
        valueName: "group"))
    var socketGroup: String?

    @OptionGroup(title: "Inference")
    var inference: EngineOptions

    @OptionGroup(title: "Cluster")
    var cluster: ClusterOptions

    /// ArgumentParser's `main`, with large blocks returned to the system when
    /// freed (`LargeAllocations`) and the kernel's fatal paths armed around it:
    /// a fatal signal or an `exit` from anywhere but here names the plugin
    /// behind it (`FatalSignals`, `UnexpectedExit`), and only the exits below
    /// keep their status.
    static func main() async {
        LargeAllocations.returnToSystemWhenFreed()
        UnexpectedExit.install()
        FatalSignals.install()
        do {
            var command = try parseAsRoot(try argumentsWithConfigFile(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            UnexpectedExit.kernelExits()
            exit(withError: error)
        }
        UnexpectedExit.kernelExits()
    }

    /// `commandLine` after the arguments its config file stands for: the file
    /// `--config` names, else `$AGENTOS_HOME/agentosd.yaml` when it exists (then
    /// named with `--config` too, so the kernel can say which file it read).
    static func argumentsWithConfigFile(_ commandLine: [String]) throws -> [String] {
        guard !commandLine.contains(where: { ["-h", "--help", "--version"].contains($0) }) else { return commandLine }
        let named = commandLine.value(ofOption: "config")
        let path = named ?? AgentOSHome.fromEnvironment().path + "/agentosd.yaml"
        guard named != nil || FileManager.default.fileExists(atPath: path) else { return commandLine }
        let file = try startup { try ConfigFile.read(path: path, for: Self.self, commandLine: commandLine) }
        return file.arguments + (named == nil ? ["--config", path] : []) + commandLine
    }

    func validate() throws {
        guard mailbox >= 1 && mailbox <= 1_000_000 else { throw ValidationError("--mailbox must be in 1...1000000") }
        guard maxMessageBytes >= 1 && maxMessageBytes <= 64 << 20 else { throw ValidationError("--max-message-bytes must be in 1...67108864") }
        for (flag, value) in [("--handler-deadline", handlerDeadline), ("--init-timeout", initTimeout), ("--unload-timeout", unloadTimeout)] {
            guard value.isFinite, value > 0, value <= 86_400 else { throw ValidationError("\(flag) must be a number of seconds in (0, 86400]") }
        }
        guard sessionMaxIdleDays.isFinite, sessionMaxIdleDays > 0, sessionMaxIdleDays <= 36_500 else {
            throw ValidationError("--session-max-idle-days must be a number of days in (0, 36500]")
        }
        guard sessionMaxTurns >= 1 && sessionMaxTurns <= 1_000_000 else { throw ValidationError("--session-max-turns must be in 1...1000000") }
        if let metricsAddr {
            guard MetricsAddress(metricsAddr) != nil else { throw ValidationError("--metrics-addr must be host:port, e.g. 127.0.0.1:9464") }
            guard !noMetrics else { throw ValidationError("--metrics-addr serves metrics: not with --no-metrics") }
        }
        if let apiAddr, MetricsAddress(apiAddr) == nil {
            throw ValidationError("--api-addr must be host:port, e.g. 127.0.0.1:8080")
        }
        try cluster.validate(engine: inference.engine)
    }

    func run() async throws {
        bootstrapLogging()
        let logger = Logger(label: "agentosd")
        if let config { logger.info("read options from \(config)") }
        let metrics = noMetrics ? nil : MetricsExporter.bootstrap()
        let metricsAddress = metricsAddr.flatMap(MetricsAddress.init)
        if let metricsAddress, let problem = metricsAddress.checkFree() {
            throw Self.startupFailure("cannot serve metrics on \(metricsAddress): \(problem) (choose another --metrics-addr)")
        }
        let apiAddress = apiAddr.flatMap(MetricsAddress.init)
        if let apiAddress, let problem = apiAddress.checkFree() {
            throw Self.startupFailure("cannot serve the API on \(apiAddress): \(problem) (choose another --api-addr)")
        }
        let home = AgentOSHome.fromEnvironment()
        let policy = PolicyFile(path: home.policyPath)
        let policyNow = try Self.startup { try policy.current() }
        let socketAccess = try Self.startup(explain: { "\($0) (\(socketGroup != nil ? "--socket-group" : "socket.group in \(home.policyPath)"))" }) {
            try SocketAccess(socketGroup: socketGroup ?? policyNow.socketGroup)
        }
        umask(0o077)
        let lock = try Self.startup { try HomeLock.acquire(home) }
        defer { lock.release() }
        try Self.startup(explain: { "\($0) (--socket-group)" }) { try socketAccess.prepareHomeFolder(at: home.path) }
        let ids = try Self.startup(explain: { "cannot reserve ids in \(home.path)/next-id: \($0.localizedDescription)" }) {
            try IdentifierReservation(path: home.path + "/next-id")
        }
        if policyNow.plugins.isEmpty {
            logger.notice("no grants in \(home.policyPath): plugins hold no capabilities until granted")
        }
        let audit = try Self.startup { AuditLog(sink: try AuditFile(path: home.auditLogPath)) }
        let crashRecords = CrashRecordFolder(path: home.crashRecordsPath)
        try Self.startup(explain: { "cannot create \(home.crashRecordsPath): \(Self.describe($0))" }) { try crashRecords.prepare() }
        if !FatalSignals.recordCrashes(in: crashRecords.path) {
            logger.error("crash records disabled: the path \(crashRecords.path) is too long")
        }
        let kernel = try makeKernel(home: home, grants: policy, audit: audit, firstID: ids.firstID, crashRecords: crashRecords, logger: logger)
        kernel.crashes.readAtStart()
        let keys = try Self.startup(explain: { "cannot open the API keys: \(Self.describe($0))" }) { try APIKeyStore(path: home.apiKeysPath) }
        let mcpServers = try Self.startup(explain: { "cannot open the MCP servers: \(Self.describe($0))" }) {
            try MCPServerSet(kernel: kernel, home: home, logger: logger)
        }
        let clusterLink = try joinCluster(kernel, logger: logger)
        defer { clusterLink?.stop() }

        let pluginsDirectory = noPluginsDir ? nil : AgentOSHome(path: plugins).path
        let watcher = pluginsDirectory.map { PluginsWatcher(directory: $0, kernel: kernel, logger: logger, unloadTimeout: unloadTimeout) }
        if let watcher { kernel.lifecycle.onNameFreed { name in watcher.nameFreed(name) } }
        let readiness = Readiness(
            watchesPlugins: watcher != nil, cluster: clusterLink == nil ? nil : kernel.cluster, records: kernel.records)
        let environment = ControlEnvironment(
            version: Self.version, home: home.path, pluginsDirectory: pluginsDirectory, readiness: readiness, metrics: metrics,
            feedback: Self.openFeedback(home, logger: logger))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            // First, so it stops last: its servers' processes are gone before the kernel exits.
            .init(service: mcpServers),
            .init(service: controlSocketServer(
                kernel: kernel, environment: environment, keys: keys, mcpServers: mcpServers, home: home, access: socketAccess, audit: audit,
                logger: logger)),
            .init(service: KernelService(
                kernel: kernel, watcher: watcher, readiness: readiness, ids: ids, unloadTimeout: unloadTimeout, restore: !noRestore)),
        ]
        if let metricsAddress {
            services.append(.init(service: Application(
                router: ControlRoutes.metricsRouter(kernel: kernel, environment: environment),
                configuration: .init(address: .hostname(metricsAddress.host, port: metricsAddress.port), serverName: "agentosd/\(Self.version)"),
                logger: logger)))
        }
        if let apiAddress {
            services.append(.init(service: Application(
                router: OpenAIRoutes.router(kernel: kernel, keys: keys, version: Self.version),
                configuration: .init(address: .hostname(apiAddress.host, port: apiAddress.port), serverName: "agentosd/\(Self.version)"),
                logger: logger)))
        }
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A client stalled mid-request must not hold the kernel up: past this the
        // server is cancelled (instances still finish unloading first).
        group.maximumGracefulShutdownDuration = .milliseconds(Int64((unloadTimeout + 3) * 1000))
        try await ServiceGroup(configuration: group).run()
        unlink(home.socketPath)
        logger.info("stopped")
    }

    /// Text or JSON lines on stderr, at `--log-level`.
    private func bootstrapLogging() {
        let level = logLevel
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                return JSONLogHandler(label: label, logLevel: level)
            }
        }
    }

    /// The kernel with the command line's settings, the engine it asks for and the plugin loader.
    private func makeKernel(
        home: AgentOSHome, grants: PolicyFile, audit: AuditLog, firstID: UInt64, crashRecords: CrashRecordFolder, logger: Logger
    ) throws -> Kernel {
        var settings = KernelConfiguration(pluginCopiesPath: home.pluginCopiesPath)
        settings.mailboxCapacity = mailbox
        settings.maxMessageBytes = maxMessageBytes
        settings.handlerDeadline = handlerDeadline
        settings.initTimeout = initTimeout
        settings.unloadTimeout = unloadTimeout
        settings.firstID = firstID
        settings.clusterNode = cluster.node
        settings.servedModel = cluster.serveEngine
        settings.defaultIsolation = defaultIsolation
        let loader = PluginLoader(copiesDirectory: home.pluginCopiesPath)
        try loader.prepare()
        let engine = try Self.startup { try inference.makeEngine() }
        let state = Self.openState(home, logger: logger)
        return Kernel(
            configuration: settings, loader: loader, threads: POSIXThreads(), logger: logger, engine: engine,
            policy: inference.policy, grants: grants, audit: audit,
            storage: StorageService(store: state.map(SQLiteKeyValueStore.init), reason: state.reason),
            records: state.map(SQLiteInstanceRecordStore.init), recordsAbsence: state.reason,
            sessions: SessionService(
                store: state.map(SQLiteSessionStore.init), reason: state.reason,
                retention: SessionRetention(
                    maxIdleMilliseconds: Int64(sessionMaxIdleDays * 86_400_000), maxStoredTurns: sessionMaxTurns)),
            runs: RunService(store: state.map(SQLiteRunStore.init), reason: state.reason), crashRecords: crashRecords)
    }

    /// The state database; a file that cannot be used disables storage (the
    /// `kv_*` syscalls and requests naming a session fail with AOS_ESTORAGE and
    /// say why) and durable
    /// instances (nothing is restored or kept; `agentctl status` says why), never the kernel.
    static func openState(_ home: AgentOSHome, logger: Logger) -> StateDatabaseOrReason {
        do {
            return StateDatabaseOrReason(database: try StateDatabase(path: home.stateDatabasePath), reason: "")
        } catch {
            logger.error("storage disabled: \(error)")
            logger.error("instance restore disabled (nothing is restored or kept): \(error)")
            return StateDatabaseOrReason(database: nil, reason: error.description)
        }
    }

    /// The link to the cluster when `--cluster` asks for one, started.
    private func joinCluster(_ kernel: Kernel, logger: Logger) throws -> NATSLink? {
        guard let settings = cluster.settings else { return nil }
        let link = NATSLink(settings: settings, service: kernel.cluster, logger: logger)
        let engine = kernel.inference.engine.map { "\($0.info.kind) \($0.info.model)" } ?? "none"
        kernel.cluster.attach(link, version: Self.version, engine: engine)
        (kernel.inference.engine as? ClusterEngine)?.bind(kernel.cluster)
        try Self.startup { try link.start(required: cluster.clusterRequired) }
        return link
    }

    /// The control API on `$AGENTOS_HOME/agentosd.sock`, open to the peers `access` allows.
    private func controlSocketServer(
        kernel: Kernel, environment: ControlEnvironment, keys: APIKeyStore, mcpServers: MCPServerSet, home: AgentOSHome, access: SocketAccess,
        audit: AuditLog, logger: Logger
    ) -> some Service {
        let engine = kernel.inference.engine.map { "\($0.info.kind) \($0.info.model), \($0.info.slots) slots, \(inference.policy.rawValue) scheduling" }
        let socketPath = home.socketPath
        let router = ControlRoutes.router(kernel: kernel, environment: environment)
        APIKeyRoutes.add(to: router.group("v1"), kernel: kernel, keys: keys)
        MCPServerRoutes.add(to: router.group("v1"), servers: mcpServers)
        return Application(
            router: router,
            server: .peerCheckedHTTP1(
                configuration: .init(idleTimeout: .seconds(60)), access: access,
                onRefusedPeer: { peer in Self.refusedPeer(peer, logger: logger, audit: audit) }),
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "agentosd/\(Self.version)"),
            onServerRunning: { _ in
                do {
                    try access.prepareSocketFile(at: socketPath)
                } catch {
                    // The socket keeps the mode the umask gave it (0700): still the kernel user's alone.
                    logger.error("the control socket stays owner-only: \(error)")
                }
                Banner.print(
                    home: home, config: config, pluginsDirectory: environment.pluginsDirectory, version: Self.version, engine: engine ?? "none")
            },
            logger: logger
        )
    }

    /// One step of starting up. A failure is printed as `agentosd: <explain(error)>`
    /// (the error's own message by default) and ends the daemon with status 1.
    @discardableResult
    private static func startup<T>(explain: (any Error) -> String = describe, _ step: () throws -> T) throws -> T {
        do {
            return try step()
        } catch {
            throw startupFailure(explain(error))
        }
    }

    private static func startupFailure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("agentosd: \(message)\n".utf8))
        return ExitCode.failure
    }

    private static func describe(_ error: any Error) -> String {
        (error as? KernelError)?.message ?? "\(error)"
    }

    /// A peer refused on the control socket (`SocketAccess`). Runs on a NIO event
    /// loop thread: must not block.
    static func refusedPeer(_ peer: PeerCredentials, logger: Logger, audit: AuditLog) {
        logger.warning("refused a connection to the control socket", metadata: [
            "uid": "\(peer.uid)", "gid": "\(peer.gid)", "pid": "\(peer.pid)",
        ])
        audit.record(AuditRecord(
            agent: nil, syscall: "connect", decision: .deny,
            reason: "uid \(peer.uid) (gid \(peer.gid), pid \(peer.pid)) may not use the control socket"))
    }

    /// The ratings database; a file that cannot be used disables feedback, never the kernel.
    static func openFeedback(_ home: AgentOSHome, logger: Logger) -> FeedbackAvailability {
        do {
            return .enabled(try FeedbackStore(path: home.feedbackDatabasePath))
        } catch {
            logger.error("feedback disabled: \(error)")
            return .disabled(reason: "\(error)")
        }
    }
}

/// The state database, or why there is none.
struct StateDatabaseOrReason {
    let database: StateDatabase?
    let reason: String

    func map<T>(_ make: (StateDatabase) -> T) -> T? { database.map(make) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension Isolation: ExpressibleByArgument {}

/// `--log-format`.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
