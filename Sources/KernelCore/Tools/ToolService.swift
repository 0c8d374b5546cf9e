import CAgentOS
import Foundation
import Logging
import StrictJSON
import Tools

/// Runs tools: the registry of loaded tools, calls from the control API and
/// the tool loop, and the `tool_call` and `tools_list` syscalls.
///
/// A thread-safe tool runs on the caller's thread while its plugin's
/// `ToolCallGate` holds the library open; any other is queued on its plugin's
/// thread as a `.toolCall` envelope. Thread-safe.
public final class ToolService: Sendable {
    private let configuration: KernelConfiguration
    private let ids: IdentifierMint
    private let logger: Logger
    /// The tools of the running tool plugins.
    let registry = ToolRegistry()

    init(configuration: KernelConfiguration, ids: IdentifierMint, logger: Logger) {
        self.configuration = configuration
        self.ids = ids
        self.logger = logger
    }

    /// What `agentctl tools` and `tools_list` show: every tool matching `patterns` (all when empty).
    public func toolDescriptions(matching patterns: [String] = []) -> [ToolDescription] {
        let patterns = patterns.isEmpty ? ["*"] : patterns
        let plugins = registry.matching(patterns).map { entry in
            ToolDescription(
                name: entry.name, description: entry.tool.description, parameters: entry.tool.parametersSchema,
                returns: entry.tool.returns.name, threadSafe: entry.tool.isThreadSafe, needsApproval: entry.tool.needsApproval,
                plugin: entry.instance.name,
                calls: entry.stats.calls.load(ordering: .relaxed), failures: entry.stats.failures.load(ordering: .relaxed),
                totalSeconds: Double(entry.stats.totalNanos.load(ordering: .relaxed)) / 1e9)
        }
        let external = registry.matchingExternal(patterns).map { entry in
            ToolDescription(
                name: entry.name, description: entry.tool.description, parameters: entry.tool.parameters,
                returns: "json", threadSafe: true, needsApproval: false, plugin: "mcp:\(entry.prefix)",
                calls: entry.stats.calls.load(ordering: .relaxed), failures: entry.stats.failures.load(ordering: .relaxed),
                totalSeconds: Double(entry.stats.totalNanos.load(ordering: .relaxed)) / 1e9)
        }
        return plugins + external
    }

    /// Whether the tool loop waits for an operator before calling `name` (AOS_TOOL_NEEDS_APPROVAL).
    func needsApproval(_ name: String) -> Bool {
        registry.lookup(name)?.tool.needsApproval ?? false
    }

    /// Offers `tools` of `provider` as `PREFIX.TOOL` (replacing any it offered before).
    /// Throws `.nameTaken` when a plugin's tools already use `prefix`.
    public func registerExternal(prefix: String, tools: [ExternalTool], provider: any ExternalToolProvider) throws(KernelError) {
        if let plugin = registry.matching([prefix + ".*"]).first {
            throw KernelError(.nameTaken, "the tools of plugin \(plugin.instance.name) are named \(prefix).*; choose another name")
        }
        registry.registerExternal(prefix: prefix, tools: tools, provider: provider)
    }

    /// Withdraws the tools offered under `prefix`; calls already running finish.
    public func unregisterExternal(prefix: String) {
        registry.unregisterExternal(prefix: prefix)
    }

    /// Calls tool `name` with `arguments` (JSON text of an object; nil or empty for none),
    /// blocking the calling thread.
    ///
    /// A thread-safe tool runs on the calling thread; any other is queued on its
    /// plugin's thread and waited for until `deadline` (monotonic ns; nil = no
    /// limit), or until `waiter` (the calling instance, if any) is unloaded.
    /// Returns the result as JSON text, or a `KernelError`: `.toolNotFound`,
    /// `.invalidToolArguments`, `.tooBig`, `.toolFailed` (message: the tool's
    /// own), `.timedOut` (the plugin is then marked hung), `.full`, `.stopping`.
    public func callTool(
        _ name: String, arguments: String?, deadline: UInt64?, waiter: Instance? = nil
    ) -> ToolCallRecord {
        let started = monotonicNanos()
        let argumentsText = arguments.flatMap { $0.isEmpty ? nil : $0 } ?? "{}"
        let outcome = runTool(name, argumentsText, deadline: deadline, waiter: waiter)
        return ToolCallRecord(tool: name, arguments: argumentsText, outcome: outcome, durationNanos: monotonicNanos() &- started)
    }

    private func runTool(_ name: String, _ argumentsText: String, deadline: UInt64?, waiter: Instance?) -> Result<String, KernelError> {
        guard let entry = registry.lookup(name) else {
            if let external = registry.lookupExternal(name) { return callExternal(external, argumentsText, deadline: deadline) }
            return .failure(KernelError(.toolNotFound, "no tool named \(name.prefix(128)) (see `agentctl tools`)"))
        }
        guard argumentsText.utf8.count <= configuration.maxMessageBytes else {
            return .failure(KernelError(.tooBig, "the arguments of \(name) are \(argumentsText.utf8.count) bytes; the limit is \(configuration.maxMessageBytes)"))
        }
        let arguments: ToolArguments
        do { arguments = try entry.tool.arguments(fromJSON: argumentsText) } catch {
            let refusal = KernelError(.invalidToolArguments, "\(name): \(error.message)")
            entry.stats.refused(refusal)
            return .failure(refusal)
        }
        let started = monotonicNanos()
        let outcome = entry.tool.isThreadSafe
            ? callInline(entry, arguments)
            : callQueued(entry, arguments, deadline: deadline, waiter: waiter)
        switch outcome {
        case .failure(let error) where error.code == .stopping || error.code == .full:
            entry.stats.refused(error)  // never ran
        case .failure(let error):
            entry.stats.record(nanos: monotonicNanos() &- started, error: error)
        case .success:
            entry.stats.record(nanos: monotonicNanos() &- started, error: nil)
        }
        return outcome
    }

    /// Calls an external provider's tool on the calling thread. The arguments
    /// must be a JSON object; the provider's server checks them against its schema.
    private func callExternal(_ entry: ToolRegistry.ExternalEntry, _ argumentsText: String, deadline: UInt64?) -> Result<String, KernelError> {
        guard argumentsText.utf8.count <= configuration.maxMessageBytes else {
            return .failure(KernelError(.tooBig, "the arguments of \(entry.name) are \(argumentsText.utf8.count) bytes; the limit is \(configuration.maxMessageBytes)"))
        }
        guard case .object? = try? JSONParser.parse(argumentsText) else {
            let refusal = KernelError(.invalidToolArguments, "\(entry.name): the arguments must be a JSON object")
            entry.stats.refused(refusal)
            return .failure(refusal)
        }
        let started = monotonicNanos()
        let outcome = entry.provider.call(entry.tool.name, arguments: argumentsText, deadline: deadline)
        switch outcome {
        case .failure(let error): entry.stats.record(nanos: monotonicNanos() &- started, error: error)
        case .success: entry.stats.record(nanos: monotonicNanos() &- started, error: nil)
        }
        return outcome
    }

    /// Runs a thread-safe tool on the calling thread, holding its library open.
    private func callInline(_ entry: ToolRegistry.Entry, _ arguments: ToolArguments) -> Result<String, KernelError> {
        guard entry.instance.toolGate.enter() else {
            return .failure(KernelError(.stopping, "the plugin of \(entry.name) is being unloaded"))
        }
        defer { entry.instance.toolGate.leave() }
        return entry.tool.call(arguments).mapError { KernelError(.toolFailed, $0.message) }
    }

    /// Queues the call on the tool plugin's thread and waits for it.
    private func callQueued(
        _ entry: ToolRegistry.Entry, _ arguments: ToolArguments, deadline: UInt64?, waiter: Instance?
    ) -> Result<String, KernelError> {
        let queuedAt = monotonicNanos()
        let id = ids.mint()
        let lock = waiter?.parker ?? ConditionLock()
        let pending = Pending<Result<String, KernelError>>(requestID: id, lock: lock)
        let job = ToolCallJob(entry: entry, arguments: arguments, pending: pending)
        let envelope = Envelope(id: id, sender: waiter?.identity ?? .kernel, body: .empty, kind: .toolCall(job))
        switch entry.instance.mailbox.push(envelope, until: nil) {
        case .ok: break
        case .full: return .failure(KernelError(.full, "the queue of \(entry.instance.name) is full (\(entry.instance.mailbox.capacity) calls); retry later"))
        default: return .failure(KernelError(.stopping, "the plugin of \(entry.name) is being unloaded"))
        }
        var outcome: Result<String, KernelError>?
        if let waiter {
            if waiter.beginWait(on: lock) {
                outcome = pending.wait(until: deadline) { waiter.stopRequested.load(ordering: .relaxed) }
                waiter.endWait()
            }
        } else {
            outcome = pending.wait(until: deadline) { false }
        }
        if let outcome { return outcome }
        if waiter?.stopRequested.load(ordering: .relaxed) == true {
            _ = pending.complete(.failure(KernelError(.stopping, "the caller was unloaded")))
            return .failure(KernelError(.stopping, "\(waiter!.name) is being unloaded"))
        }
        // Timed out: whatever the tool returns later is dropped.
        let timedOut = KernelError(.timedOut, "the caller stopped waiting")
        if pending.complete(.failure(timedOut)) {
            let waited = monotonicNanos() &- queuedAt
            let seconds = String(format: "%.3g", Double(waited) / 1e9)
            // The plugin is hung when this call started and has not returned, or when the call it
            // runs began before this one was queued; otherwise it is only busy with earlier calls.
            let running = entry.instance.handlerStartedAt.value
            guard job.startedAt.load(ordering: .relaxed) != 0 || (running != 0 && running <= queuedAt) else {
                return .failure(KernelError(.timedOut, "\(entry.name) did not start within \(seconds) s: its plugin is busy with earlier calls"))
            }
            let reason = "a tool call has run for \(seconds) s (\(entry.tool.name) timed out waiting for it)"
            if entry.instance.transition(from: .running, to: .hung, error: reason) {
                entry.instance.log.append(.error, .kernel, "hung: \(reason)")
                logger.error("tool hung", metadata: ["tool": "\(entry.name)", "timeout_s": "\(seconds)"])
            }
            return .failure(KernelError(.timedOut, "\(entry.name) did not return within \(seconds) s; its plugin is marked hung"))
        }
        return pending.outcome(orElse: .failure(timedOut))
    }

    /// Runs a queued call on the tool plugin's own thread (from `InstanceRunner`).
    func run(_ job: ToolCallJob, on instance: Instance) {
        guard !job.pending.isCompleted else {
            instance.log.append(.warn, .kernel, "skipped a call of \(job.entry.tool.name): its caller gave up before it started")
            return
        }
        // A call queued before a reload runs on the new version's tool of that name and signature.
        let queued = job.entry.tool
        guard let tool = job.entry.instance === instance ? queued : instance.tools.first(where: {
            $0.name == queued.name && $0.parameters == queued.parameters && $0.returns == queued.returns
        }) else {
            job.pending.complete(.failure(KernelError(.toolNotFound, "\(job.entry.name) was reloaded before the call ran and has no tool of that name and signature now (see `agentctl tools`)")))
            return
        }
        job.startedAt.store(monotonicNanos(), ordering: .relaxed)
        job.pending.complete(tool.call(job.arguments).mapError { KernelError(.toolFailed, $0.message) })
    }
}
