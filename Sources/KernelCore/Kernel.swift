import CAgentOS
import Dispatch
import Foundation
import Logging
import Synchronization
import Tools

/// The kernel: loads plugins into instances, routes their messages, and
/// unloads them safely. Everything the control API and the Plugins/ watcher
/// do goes through here. Thread-safe.
public final class Kernel: @unchecked Sendable {
    public let configuration: KernelConfiguration
    public let logger: Logger
    public let startedAt = Date()
    let loader: PluginLoading
    let table: InstanceTable

    let nextMessageID = Atomic<UInt64>(1)
    private let nextInstanceID = Atomic<UInt64>(1)
    let messagesDelivered = Atomic<UInt64>(0)
    let messagesRefused = Atomic<UInt64>(0)
    /// Joins finished instance threads and closes their libraries, off every plugin thread.
    private let reaper = DispatchQueue(label: "agentos.reaper")
    /// The inference device, when the kernel has an engine.
    public let engine: InferenceEngine?
    /// Queues every inference request in front of `engine`.
    public let scheduler: InferenceScheduler
    /// The tools of the running tool plugins.
    let tools = ToolRegistry()
    /// The message counters of the control API, as a sender named "agentctl".
    let controlMessages = MessageMetrics(agent: SenderIdentity.controlAPI.name)
    /// The inference requests behind agents' answers.
    let answerLinks = AnswerLinks()
    /// Running tool loops by request id, for cancellation.
    let toolLoops = Mutex<[UInt64: ToolLoop]>([:])
    /// Where denials, grants and revokes are written; nil keeps no audit log.
    public let audit: AuditLog?
    /// What each plugin is granted at load; nil grants nothing but `load`'s own grants.
    let policy: PolicySource?

    /// A kernel; with an `engine`, it starts serving inference requests at once.
    public init(
        configuration: KernelConfiguration, loader: PluginLoading, logger: Logger,
        engine: InferenceEngine? = nil, policy: SchedulingPolicy = .fair,
        grants: PolicySource? = nil, audit: AuditLog? = nil
    ) {
        self.configuration = configuration
        self.loader = loader
        self.logger = logger
        self.policy = grants
        self.audit = audit
        self.table = InstanceTable(endedLimit: configuration.endedLimit)
        self.engine = engine
        self.scheduler = InferenceScheduler(policy: policy, capacity: configuration.inferenceQueueCapacity)
        routeQuotaRefusals()
        engine?.start(serving: scheduler)
    }

    // MARK: Queries

    public func instance(named name: String) -> Instance? { table.lookup(name) }

    /// The log of instance `name`: the live one, else the last that ended under that name.
    public func log(of name: String) -> LogRing? { table.log(of: name) }

    /// `ps`: live instances, and with `all` the stopped and failed ones, by id.
    public func summaries(all: Bool) -> [InstanceSummary] { table.summaries(includeEnded: all) }

    public var deliveredCount: UInt64 { messagesDelivered.load(ordering: .relaxed) }
    public var refusedCount: UInt64 { messagesRefused.load(ordering: .relaxed) }

    // MARK: Load

    /// Loads `path` as a new instance named `name` (the descriptor's name when nil)
    /// and waits for its `init`. The instance holds what the policy grants its
    /// name, and `grants`.
    ///
    /// Throws a `KernelError` naming the file and the problem: a bad file, a
    /// descriptor the kernel refuses, a taken or invalid name, a policy file
    /// that cannot be read, or `init` failing (the instance is then listed as
    /// failed in `ps -a`).
    public func load(
        path: String, name requestedName: String? = nil, config: String = "", priority: Int = 0,
        grants extraGrants: [Capability] = [], origin: InstanceSummary.Origin = .agentctl
    ) async throws(KernelError) -> Instance {
        if let requestedName { try Self.validate(name: requestedName) }
        let image = try await open(path)
        let name = requestedName ?? image.descriptor.pointee.name.map { String(cString: $0) } ?? ""
        let tools: [Tool]
        let entry: Policy.Entry
        do {
            try Self.validate(name: name)
            tools = try Self.readTools(image, path: path)
            entry = try policy?.current().entry(for: name) ?? Policy.Entry()
        } catch {
            image.close()
            throw error.code == .badName
                ? KernelError(.badDescriptor, "cannot load \(path): descriptor name \"\(name)\" is invalid (\(error.message))")
                : error
        }
        var grants = CapabilitySet(entry.grants)
        for capability in extraGrants { grants.insert(capability) }
        let instance = Instance(
            id: nextInstanceID.wrappingAdd(1, ordering: .relaxed).oldValue, name: name, image: image,
            config: config, priority: priority, tools: tools, grants: grants, origin: origin, kernel: self)
        guard table.insert(instance) else {
            image.close()
            throw KernelError(.nameTaken, "cannot load \(path): an instance named \(name) is already running (choose another with --name)")
        }
        scheduler.forgetQuota(of: name)  // a budget is per instance: nothing carries over from an earlier one
        apply(entry.quotas, to: instance)
        var startError: KernelError?
        let initTimeout = configuration.initTimeout
        let initStatus: AOSStatus? = await withCheckedContinuation { continuation in
            let once = OnceContinuation<AOSStatus?>(continuation)
            do throws(KernelError) {
                try InstanceRunner.start(instance) { status in once.resume(status) }
                DispatchQueue.global().asyncAfter(deadline: .now() + initTimeout) { once.resume(nil) }
            } catch {
                startError = error
                once.resume(.internal)
            }
        }
        if let startError {
            table.retire(instance)
            image.close()
            throw startError
        }
        guard let initStatus else {
            let seconds = String(format: "%g", configuration.initTimeout)
            instance.requestStop()
            returnUndelivered(instance.mailbox.close(), of: instance)
            instance.transition(to: .hung, error: "init did not return within \(seconds) s")
            instance.log.append(.error, .kernel, "init did not return within \(seconds) s; left loaded as hung")
            logger.error("init did not return", metadata: ["agent": "\(name)", "timeout_s": "\(seconds)"])
            throw KernelError(.hung, "cannot load \(path): init of \(name) did not return within \(seconds) s; it stays listed as hung")
        }
        guard initStatus == .ok else {
            _ = await instance.waitForExit(seconds: 5)
            logger.warning("init failed", metadata: ["agent": "\(name)", "status": "\(initStatus.name)"])
            throw KernelError(.initFailed, "cannot load \(path): init of \(name) returned \(initStatus) (see `agentctl logs \(name)`)")
        }
        guard !instance.stopRequested.load(ordering: .relaxed) else {
            throw KernelError(.stopping, "\(name) was unloaded while its init ran")
        }
        self.tools.register(instance)
        instance.log.append(.info, .kernel, "loaded from \(path) as instance \(instance.id)" + (tools.isEmpty ? "" : " with \(tools.count) tools"))
        recordLoadGrants(instance, fromPolicy: entry.grants, fromLoad: extraGrants)
        logger.info("loaded", metadata: ["agent": "\(name)", "id": "\(instance.id)", "plugin": "\(path)"])
        return instance
    }

    /// Opens `path` on a GCD thread: reading, copying and dlopen block, and must
    /// not hold one of the Swift concurrency pool's few threads.
    private func open(_ path: String) async throws(KernelError) -> PluginImage {
        let loader = self.loader
        let result: Result<PluginImage, KernelError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(KernelError) {
                    continuation.resume(returning: .success(try loader.open(path: path)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Records a file that could not be loaded, so `ps -a` shows it as failed.
    public func recordLoadFailure(path: String, name: String, error: KernelError, origin: InstanceSummary.Origin) {
        table.recordFailure(InstanceSummary(
            name: name, id: 0, state: .failed, plugin: path, pluginName: name, version: "", description: "",
            kind: "agent", capabilities: [], origin: origin, loadedAt: Date(), endedAt: Date(),
            messagesIn: 0, messagesOut: 0, mailboxDepth: 0, mailboxLimit: 0, lastError: error.message))
    }

    // MARK: Unload

    /// Unloads `name`: stops delivery, fails its queued requests with
    /// AOS_ESTOPPING (plain messages become logged dead letters), wakes its
    /// blocked syscalls, lets the current handler finish for up to `timeout`
    /// seconds, runs `stop` and closes the library.
    ///
    /// Throws `.notFound`, or `.hung` when the handler does not return in time:
    /// the instance then stays listed as hung and its library open, and is
    /// closed when its thread finally ends.
    public func unload(name: String, timeout: Double) async throws(KernelError) -> InstanceSummary {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        instance.log.append(.info, .kernel, "unloading")
        tools.unregister(instance)
        instance.requestStop()
        for loop in toolLoops.withLock({ $0.values.filter { $0.owner == instance.id } }) { loop.cancel() }
        scheduler.cancelAll(owner: instance.id)
        scheduler.forgetQuota(of: name)
        returnUndelivered(instance.mailbox.close(), of: instance)
        let seconds = String(format: "%g", timeout)
        if await instance.waitForExit(seconds: timeout)
            || !instance.markHungIfRunning(error: "did not stop within \(seconds) s; its handler is still running") {
            logger.info("unloaded", metadata: ["agent": "\(name)"])
            return instance.summary()
        }
        instance.log.append(.error, .kernel, "did not stop within \(seconds) s; left loaded as hung")
        logger.error("instance did not stop", metadata: ["agent": "\(name)", "timeout_s": "\(seconds)"])
        throw KernelError(.hung, "\(name) did not stop within \(seconds) s: its handler is still running; it stays listed as hung and is closed when the handler returns")
    }

    /// Unloads every instance, newest first, each with `timeout` seconds, then stops the engine.
    public func shutdown(timeout: Double) async {
        for instance in table.liveInstances.reversed() {
            _ = try? await unload(name: instance.name, timeout: timeout)
        }
        scheduler.close(reason: KernelError(.stopping, "the kernel is shutting down"))
        if let engine {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    engine.shutdown()
                    continuation.resume()
                }
            }
        }
    }

    /// Fails queued requests with AOS_ESTOPPING and logs plain messages as dead letters.
    func returnUndelivered(_ envelopes: [Envelope], of instance: Instance) {
        for envelope in envelopes {
            if let job = envelope.toolCall {
                job.pending.complete(.failure(KernelError(.stopping, "\(job.entry.name) was unloaded before the call ran")))
            } else if let pending = envelope.pendingReply {
                pending.complete(.failure(.stopping))
            } else {
                instance.log.append(.warn, .kernel, "dead letter: message \(envelope.id) from \(envelope.sender.name) (\(envelope.body.count) bytes) was never delivered")
                logger.warning("dead letter", metadata: ["agent": "\(instance.name)", "message": "\(envelope.id)", "from": "\(envelope.sender.name)"])
            }
        }
    }

    /// Called on an instance's thread as its last act: the reaper joins the
    /// thread, and only then closes the library, so no thread can be in its code.
    func instanceThreadFinished(_ instance: Instance, finalState: InstanceState) {
        tools.unregister(instance)
        reaper.async { [self] in
            pthread_join(instance.thread.load(ordering: .relaxed), nil)
            instance.image.close()
            instance.log.append(.info, .kernel, finalState == .failed ? "failed; library closed" : "stopped; library closed")
            instance.transition(to: finalState)
            table.retire(instance)
            instance.didExit()
        }
    }

    /// The tools a tool plugin declares; throws a named error for a bad table,
    /// or for tools in an agent's descriptor.
    private static func readTools(_ image: PluginImage, path: String) throws(KernelError) -> [Tool] {
        let tools: [Tool]
        do { tools = try ToolTable.read(image.descriptor) } catch {
            let code: KernelError.Code = switch error.kind {
            case .unsupportedType: .unsupportedToolType
            case .duplicateName: .duplicateTool
            case .missingFunction: .missingToolFunction
            case .invalid: .badTool
            }
            throw KernelError(code, "cannot load \(path): \(error.message)")
        }
        if image.descriptor.pointee.kind != AOS_KIND_TOOL, !tools.isEmpty {
            throw KernelError(.badDescriptor, "cannot load \(path): an agent's descriptor declares tools; set kind to AOS_KIND_TOOL")
        }
        return tools
    }

    // MARK: Names

    /// Instance names: 1-63 bytes of [A-Za-z0-9_.-], not starting with '.' or '-'.
    static func validate(name: String) throws(KernelError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2E || byte == 0x2D
        }
        guard !name.isEmpty, name.utf8.count <= 63, allowed, let first = name.utf8.first, first != 0x2E, first != 0x2D
        else {
            throw KernelError(.badName, "invalid instance name \"\(name)\": use 1-63 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }
    }
}

// MARK: - Handler deadlines

extension Kernel {
    /// Marks instances whose handler has run past their deadline (handler_deadline_ms, else `configuration.handlerDeadline`) as hung.
    /// The instance runs again when the handler returns. Call it periodically.
    public func checkHandlerDeadlines(now: UInt64 = monotonicNanos()) {
        for instance in table.liveInstances {
            let limit = instance.handlerDeadlineNanos.load(ordering: .relaxed)
            let started = instance.handlerStartedAt.load(ordering: .relaxed)
            guard started != 0, now > started, now - started > limit else { continue }
            let seconds = String(format: "%.1f", Double(now - started) / 1e9)
            let deadline = String(format: "%g", Double(limit) / 1e9)
            guard instance.transition(from: .running, to: .hung, error: "handler has run for \(seconds) s, past the \(deadline) s deadline") else { continue }
            if instance.handlerStartedAt.load(ordering: .relaxed) != started {
                instance.transition(from: .hung, to: .running)  // it returned meanwhile
                continue
            }
            instance.log.append(.error, .kernel, "hung: handler has run for \(seconds) s, past the \(deadline) s deadline")
            logger.error("instance hung", metadata: ["agent": "\(instance.name)", "handler_s": "\(seconds)"])
        }
    }
}
