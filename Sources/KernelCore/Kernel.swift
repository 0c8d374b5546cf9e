import Foundation
import Logging

/// The kernel: a composition root that builds the services and wires them.
///
/// Each service owns its state and its locks; the control API, the
/// `Plugins/` watcher and the syscall table call the services directly:
///
/// | service | owns |
/// |---|---|
/// | `lifecycle` | loading, starting, stopping and reaping instances; `plugin_load`/`plugin_unload` |
/// | `messages` | mailboxes' traffic: `send`, `call`, `call_delegate`, `reply`, the control API's messages |
/// | `inference` | the scheduler and engine, tool loops, the `infer*` syscalls |
/// | `tools` | the tool registry, tool calls, `tool_call`/`tools_list` |
/// | `capabilities` | grants, revokes, capability reports, the audit log |
/// | `quotas` | quota limits and their reports |
/// | `storage` | key-value namespaces in the state database, the `kv_*` syscalls |
/// | `records` | the instance table kept in the state database, restored at start |
/// | `crashes` | the crash records of thread-mode crashes, reported at start; they keep the plugin that crashed from loading by itself |
/// | `sessions` | conversations in the state database (`inference` builds a session request's prompt from them) |
/// | `runs` | tool loops as durable runs: their checkpoints in the state database, resumed at start |
/// | `cluster` | the directory of nodes, remote messages, frames from other kernels |
///
/// The process table (`InstanceTable`) and the id mint are shared by them.
/// Thread-safe.
public final class Kernel: Sendable {
    public let configuration: KernelConfiguration
    public let logger: Logger
    public let startedAt = Date()
    let table: InstanceTable
    private let ids: IdentifierMint
    public let messages: MessageRouter
    public let tools: ToolService
    public let inference: InferenceService
    public let capabilities: CapabilityService
    public let quotas: QuotaService
    public let lifecycle: PluginLifecycle
    public let storage: StorageService
    public let records: InstanceRecordService
    public let crashes: CrashRecordService
    public let sessions: SessionService
    public let runs: RunService
    public let cluster: ClusterService

    /// A kernel that opens plugins through `loader` and runs each instance on a
    /// thread from `threads`; with an `engine`, it starts serving inference
    /// requests at once. Ids of messages and requests start at `configuration.firstID`.
    /// `storage` serves the `kv_*` syscalls (by default none: they fail with AOS_ESTORAGE);
    /// `records` keeps the instances loaded through the control API (by default nowhere).
    /// `sessions` keeps conversations (by default none: requests naming a session fail with AOS_ESTORAGE).
    /// `runs` keeps tool loops' checkpoints (by default none: runs are not kept or resumed).
    /// `crashRecords` holds what earlier crashes left (by default nothing: nothing is reported or blocked).
    public init(
        configuration: KernelConfiguration, loader: PluginLoading, threads: InstanceThreading, logger: Logger,
        engine: InferenceEngine? = nil, policy: SchedulingPolicy = .fair,
        grants: PolicySource? = nil, audit: AuditLog? = nil, storage: StorageService = StorageService(store: nil),
        records: InstanceRecordStore? = nil, recordsAbsence: String = "the kernel was started without a state database",
        sessions: SessionService = SessionService(store: nil), runs: RunService = RunService(store: nil),
        crashRecords: CrashRecordStore? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        let table = InstanceTable(endedLimit: configuration.endedLimit)
        let ids = IdentifierMint(first: configuration.firstID)
        let scheduler = InferenceScheduler(policy: policy, capacity: configuration.inferenceQueueCapacity)
        self.table = table
        self.ids = ids
        cluster = ClusterService(configuration: configuration, table: table, ids: ids)
        messages = MessageRouter(configuration: configuration, table: table, ids: ids, cluster: cluster)
        tools = ToolService(configuration: configuration, ids: ids, logger: logger)
        self.sessions = sessions
        self.runs = runs
        inference = InferenceService(
            engine: engine, scheduler: scheduler, tools: tools, sessions: sessions, runs: runs, table: table, ids: ids,
            configuration: configuration, logger: logger)
        let records = InstanceRecordService(store: records, reason: recordsAbsence, logger: logger)
        self.records = records
        let crashes = CrashRecordService(store: crashRecords, table: table, logger: logger)
        self.crashes = crashes
        capabilities = CapabilityService(table: table, audit: audit, records: records)
        self.storage = storage
        quotas = QuotaService(
            table: table, scheduler: scheduler, storage: storage, records: records, configuration: configuration, logger: logger)
        lifecycle = PluginLifecycle(
            configuration: configuration, logger: logger, loader: loader, threads: threads, table: table, ids: ids,
            messages: messages, inference: inference, tools: tools, quotas: quotas,
            capabilities: capabilities, storage: storage, records: records, crashes: crashes, policy: grants)
        cluster.serve(inference)
        engine?.start(serving: scheduler)
    }

    /// The next id of a message or request, and past every one handed out
    /// (threads hold blocks of ids: see `IdentifierMint`).
    public var nextID: UInt64 { ids.peek }

    /// The live instance named `name`.
    public func instance(named name: String) -> Instance? { table.lookup(name) }

    /// The log of instance `name`: the live one, else the last that ended under that name.
    public func log(of name: String) -> LogRing? { table.log(of: name) }

    /// `ps`: live instances, and with `all` the zombies, stopped and failed ones, by id.
    public func summaries(all: Bool) -> [InstanceSummary] { table.summaries(includeEnded: all) }

    /// The series the kernel keeps itself (`AgentMetrics`), of each live instance in
    /// load order, then of the control API ("agentctl"). For the metrics exporter, at scrape time.
    public func agentMetrics() -> [AgentMetrics] {
        table.liveInstances.map { instance in
            AgentMetrics(
                agent: instance.name, syscalls: instance.metrics.syscalls.snapshot(),
                messagesSent: instance.messagesOut.value, messagesDelivered: instance.messagesIn,
                handlerDurations: instance.metrics.handlerTimings.snapshot(), mailboxDepth: instance.mailbox.depth)
        } + [AgentMetrics(
            agent: SenderIdentity.controlAPI.name, syscalls: [], messagesSent: messages.controlSentCount, messagesDelivered: nil,
            handlerDurations: nil, mailboxDepth: nil)]
    }
}
