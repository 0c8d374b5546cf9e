import CAgentOS
import Dispatch
import Foundation
import Logging
import Synchronization
import Tools

/// Loads, reloads (`PluginLifecycle+Reload`) and unloads plugin instances:
/// opens files through the loader, starts instance threads (made by
/// `InstanceThreading`), stops them, and closes libraries only once no thread
/// can run their code. Also serves `plugin_load` and `plugin_unload`.
///
/// Thread-safe: `load` and `unload` may run concurrently from any task;
/// the instance table and each instance's state have their own locks, and
/// the reaper joins finished threads one at a time.
public final class PluginLifecycle: Sendable {
    let configuration: KernelConfiguration
    let logger: Logger
    let loader: PluginLoading
    let threads: InstanceThreading
    let table: InstanceTable
    let ids: IdentifierMint
    let messages: MessageRouter
    private let inference: InferenceService
    let tools: ToolService
    let quotas: QuotaService
    let capabilities: CapabilityService
    private let storage: StorageService
    /// Where instances loaded through the control API are recorded for the next start.
    let records: InstanceRecordService
    /// Crashes that keep a plugin from loading by itself.
    let crashes: CrashRecordService
    /// What each plugin is granted at load; nil grants nothing but `load`'s own grants.
    private let policy: PolicySource?
    /// Joins finished instance threads and closes their libraries, off every plugin thread.
    private let reaper = DispatchQueue(label: "agentos.reaper")
    /// Told each time an instance gives up its name (it stopped, failed or was retired by force).
    private let nameFreedHandlers = Mutex<[@Sendable (String) -> Void]>([])

    init(
        configuration: KernelConfiguration, logger: Logger, loader: PluginLoading, threads: InstanceThreading,
        table: InstanceTable, ids: IdentifierMint, messages: MessageRouter, inference: InferenceService, tools: ToolService,
        quotas: QuotaService, capabilities: CapabilityService, storage: StorageService, records: InstanceRecordService,
        crashes: CrashRecordService, policy: PolicySource?
    ) {
        self.configuration = configuration
        self.logger = logger
        self.loader = loader
        self.threads = threads
        self.table = table
        self.ids = ids
        self.messages = messages
        self.inference = inference
        self.tools = tools
        self.quotas = quotas
        self.capabilities = capabilities
        self.storage = storage
        self.records = records
        self.crashes = crashes
        self.policy = policy
    }

    /// Calls `handler` with an instance's name each time an instance gives it
    /// up, on a kernel thread (the `Plugins/` watcher retries a file that
    /// waited for its name).
    public func onNameFreed(_ handler: @escaping @Sendable (String) -> Void) {
        nameFreedHandlers.withLock { $0.append(handler) }
    }

    private func nameFreed(_ name: String) {
        for handler in nameFreedHandlers.withLock({ $0 }) { handler(name) }
    }

    // MARK: Load

    /// Loads `path` as a new instance named `name` (the descriptor's name when nil)
    /// and waits for its `init`. The instance holds what the policy grants its
    /// name, and `grants`. It runs with `isolation`, else the policy's, else
    /// thread mode (`configuration.defaultIsolation` for Plugins/); a
    /// process-mode instance is restarted as `restart`, else the policy's,
    /// else `RestartPolicy()` says.
    ///
    /// Throws a `KernelError` naming the file and the problem: a bad file, a
    /// descriptor the kernel refuses, a taken or invalid name, a policy file
    /// that cannot be read, or `init` failing (the instance is then listed as
    /// failed in `ps -a`).
    ///
    /// An instance loaded through the control API (origin `.agentctl`) is
    /// recorded for the next start (`InstanceRecordService`). Content that
    /// crashed the kernel (`CrashRecordService`) loads only that way: from
    /// `Plugins/`, a restore or `plugin_load` it is refused (`.conflict`,
    /// naming the crash); loaded through the control API, its crash records go.
    public func load(
        path: String, name requestedName: String? = nil, config: String = "", priority: Int = 0,
        grants extraGrants: [Capability] = [], origin: InstanceSummary.Origin = .agentctl, isolation: Isolation? = nil,
        restart: RestartPolicy? = nil
    ) async throws(KernelError) -> Instance {
        try await load(
            path: path, name: requestedName, config: config, priority: priority, grants: extraGrants, origin: origin,
            isolation: isolation, restart: restart, restoring: nil)
    }

    /// Loads `record`'s instance again with exactly its recorded settings (its
    /// grants and quotas, not policy.yaml's), from a file whose content has the
    /// recorded SHA-256. Throws as `load`; `.conflict` when the content differs,
    /// `.invalidArgument` when the record holds a setting the kernel refuses.
    func restore(_ record: InstanceRecord) async throws(KernelError) {
        let settings: (grants: [Capability], quotas: QuotaLimits)
        do {
            settings = try record.parsedSettings()
        } catch {
            throw KernelError(.invalidArgument, "its record holds a setting this kernel refuses: \(error.message)")
        }
        _ = try await load(
            path: record.plugin, name: record.name, config: record.config, priority: record.priority, grants: settings.grants,
            origin: .agentctl, isolation: record.isolation, restart: record.restart,
            restoring: (sha256: record.sha256, quotas: settings.quotas))
    }

    /// `load`, or with `restoring` a restore: the content must have that hash,
    /// the grants are exactly `extraGrants` and the quotas are `restoring.quotas`.
    private func load(
        path: String, name requestedName: String?, config: String, priority: Int, grants extraGrants: [Capability],
        origin: InstanceSummary.Origin, isolation: Isolation?, restart: RestartPolicy?,
        restoring: (sha256: String, quotas: QuotaLimits)?
    ) async throws(KernelError) -> Instance {
        if let requestedName { try InstanceName.validate(requestedName) }
        var image = try await open(path)
        if let expected = restoring?.sha256, image.contentSHA256 != expected {
            let now = image.contentSHA256 ?? "unknown"
            image.close()
            throw KernelError(.conflict, "\(path) changed since \(requestedName ?? "it") was loaded (SHA-256 \(expected.prefix(12))… recorded, \(now.prefix(12))… now): load it again with `agentctl load` or forget it with `agentctl unload \(requestedName ?? "NAME")`")
        }
        let explicitly = origin == .agentctl && restoring == nil
        if !explicitly, let sha256 = image.contentSHA256, let crash = crashes.blocking(sha256: sha256) {
            image.close()
            throw KernelError(.conflict, "not loading \(path) by itself: it \(crash.reason) (load it with `agentctl load \(path)`, or `agentctl crashes clear \(crash.name)` and restart)")
        }
        let name = requestedName ?? image.descriptor.pointee.name.map { String(cString: $0) } ?? ""
        let declared: [Tool]
        let entry: Policy.Entry
        do {
            try InstanceName.validate(name)
            declared = try Self.readTools(image, path: path, instance: name)
            entry = try policy?.current().entry(for: name) ?? Policy.Entry()
        } catch {
            image.close()
            throw error.code == .badName
                ? KernelError(.badDescriptor, "cannot load \(path): descriptor name \"\(name)\" is invalid (\(error.message))")
                : error
        }
        let defaultIsolation = origin == .pluginsDir ? configuration.defaultIsolation : .thread
        if (isolation ?? entry.isolation ?? defaultIsolation) == .process {
            image = try loader.isolated(image, name: name, restart: restart ?? entry.restart ?? RestartPolicy())
        }
        let policyGrants = restoring == nil ? entry.grants : []
        var grants = CapabilitySet(policyGrants)
        for capability in extraGrants { grants.insert(capability) }
        let instance = Instance(
            id: ids.mint(), name: name, image: image, config: config, priority: priority, tools: declared,
            grants: grants, origin: origin, services: services, configuration: configuration, audit: capabilities.audit,
            thread: threads.makeThread(named: "aos:" + name))
        guard instance.attachHandle() else {
            image.close()
            throw KernelError(.internal, "cannot load \(path): the kernel runs as many instances as it can hold")
        }
        guard table.insert(instance) else {
            instance.detachHandle()
            image.close()
            throw KernelError(.nameTaken, "cannot load \(path): an instance named \(name) is already running (choose another with --name)")
        }
        inference.scheduler.forgetQuota(of: name)  // a budget is per instance: nothing carries over from an earlier one
        quotas.apply(restoring?.quotas ?? entry.quotas, to: instance)
        instance.sandboxHost()
        try await start(instance, path: path)
        tools.registry.register(instance)
        let how = restoring == nil ? "loaded" : "restored"
        instance.log.append(.info, .kernel, "\(how) from \(path) as instance \(instance.id)" + (declared.isEmpty ? "" : " with \(declared.count) tools"))
        capabilities.recordLoadGrants(
            instance, fromPolicy: policyGrants, fromLoad: extraGrants, loadSource: restoring == nil ? "agentctl load --grant" : "state.sqlite (restored)")
        if restoring == nil { records.record(instance) }
        if let sha256 = image.contentSHA256 { crashes.loaded(path: path, sha256: sha256, explicitly: explicitly) }
        logger.info("\(how)", metadata: ["agent": "\(name)", "id": "\(instance.id)", "plugin": "\(path)"])
        return instance
    }

    /// Starts the instance's thread and waits for its `init`, at most `initTimeout` seconds.
    /// Throws when the thread cannot start, `init` fails, does not return in time
    /// (the instance is left hung), or the instance is unloaded meanwhile.
    func start(_ instance: Instance, path: String) async throws(KernelError) {
        let name = instance.name
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
            instance.detachHandle()
            instance.destroyMetrics()
            instance.image.close()
            throw startError
        }
        guard let initStatus else {
            let seconds = String(format: "%g", initTimeout)
            instance.requestStop()
            messages.returnUndelivered(instance.mailbox.close(), of: instance, logger: logger)
            instance.transition(to: .hung, error: "init did not return within \(seconds) s")
            instance.log.append(.error, .kernel, "init did not return within \(seconds) s; left loaded as hung")
            logger.error("init did not return", metadata: ["agent": "\(name)", "timeout_s": "\(seconds)"])
            throw KernelError(.hung, "cannot load \(path): init of \(name) did not return within \(seconds) s; it stays listed as hung (`agentctl unload --force \(name)` frees its name)")
        }
        guard initStatus == .ok else {
            _ = await instance.waitForExit(seconds: 5)
            logger.warning("init failed", metadata: ["agent": "\(name)", "status": "\(initStatus.name)"])
            throw KernelError(.initFailed, "cannot load \(path): init of \(name) returned \(initStatus) (see `agentctl logs \(name)`)")
        }
        guard !instance.stopRequested.load(ordering: .relaxed) else {
            throw KernelError(.stopping, "\(name) was unloaded while its init ran")
        }
    }

    /// Opens `path` on a GCD thread: reading, copying and dlopen block, and must
    /// not hold one of the Swift concurrency pool's few threads.
    func open(_ path: String) async throws(KernelError) -> PluginImage {
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
            messagesIn: 0, messagesOut: 0, mailboxDepth: 0, mailboxLimit: 0, sendersWaiting: 0, lastError: error.message))
    }

    // MARK: Unload

    /// Unloads `name`: stops delivery, fails its queued requests with
    /// AOS_ESTOPPING (plain messages become logged dead letters), wakes its
    /// blocked syscalls, lets the current handler finish for up to `timeout`
    /// seconds, runs `stop` and closes the library.
    ///
    /// With `force`, an instance that does not stop in time (or is already
    /// hung) is retired instead: its name, mailbox and metrics are freed at
    /// once and its thread is left parked as a zombie (`ps -a`), reaped if it
    /// ever returns; its library is never closed under it.
    ///
    /// Throws `.notFound`, or `.hung` when the handler does not return in time
    /// and `force` is false: the instance then stays listed as hung and its
    /// library open, and is closed when its thread finally ends.
    public func unload(name: String, timeout: Double, force: Bool = false) async throws(KernelError) -> InstanceSummary {
        guard let instance = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        instance.log.append(.info, .kernel, force ? "unloading (forced)" : "unloading")
        tools.registry.unregister(instance)
        instance.requestStop()
        inference.cancelAll(owner: instance.id)
        inference.scheduler.forgetQuota(of: name)
        messages.returnUndelivered(instance.mailbox.close(), of: instance, logger: logger)
        let seconds = String(format: "%g", timeout)
        let wasHung = instance.state == .hung
        if !(force && wasHung), await instance.waitForExit(seconds: timeout) {
            logger.info("unloaded", metadata: ["agent": "\(name)"])
            return instance.summary()
        }
        if force {
            return retireAsZombie(instance)
        }
        guard instance.markHungIfRunning(error: "did not stop within \(seconds) s; its handler is still running") else {
            logger.info("unloaded", metadata: ["agent": "\(name)"])
            return instance.summary()
        }
        instance.log.append(.error, .kernel, "did not stop within \(seconds) s; left loaded as hung")
        logger.error("instance did not stop", metadata: ["agent": "\(name)", "timeout_s": "\(seconds)"])
        throw KernelError(.hung, "\(name) did not stop within \(seconds) s: its handler is still running; it stays listed as hung and is closed when the handler returns (`agentctl unload --force \(name)` frees its name now)")
    }

    /// Frees the name, mailbox and metrics of an instance whose thread will not
    /// stop, and leaves the thread parked (see `unload(force:)`).
    private func retireAsZombie(_ instance: Instance) -> InstanceSummary {
        guard instance.markZombieIfRunning() else {
            logger.info("unloaded", metadata: ["agent": "\(instance.name)"])
            return instance.summary()
        }
        table.retireZombie(instance)
        instance.destroyMetrics()
        nameFreed(instance.name)
        let note = "retired by force: its thread still runs plugin code and is left parked; its CPU and memory stay until the kernel restarts (load it with --isolation process to be able to kill it)"
        instance.log.append(.error, .kernel, note)
        logger.error("instance retired by force", metadata: ["agent": "\(instance.name)"])
        return instance.summary()
    }

    /// Unloads every instance, newest first, each with `timeout` seconds, then stops the engine.
    public func shutdown(timeout: Double) async {
        for instance in table.liveInstances.reversed() {
            _ = try? await unload(name: instance.name, timeout: timeout)
        }
        inference.scheduler.close(reason: KernelError(.stopping, "the kernel is shutting down"))
        if let engine = inference.engine {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    engine.shutdown()
                    continuation.resume()
                }
            }
        }
    }

    /// Called on an instance's thread as its last act: the reaper joins the
    /// thread, and only then closes the library, so no thread can be in its code.
    /// The plugin's `aos_ctx *` goes stale before that.
    func threadFinished(_ instance: Instance, finalState: InstanceState) {
        tools.registry.unregister(instance)
        reaper.async { [self] in
            instance.thread.join()
            instance.detachHandle()
            instance.image.close()
            instance.log.append(.info, .kernel, finalState == .failed ? "failed; library closed" : "stopped; library closed")
            instance.transition(to: finalState)
            let heldName = table.lookup(instance.name) === instance
            table.retire(instance)
            instance.destroyMetrics()
            instance.didExit()
            if heldName { nameFreed(instance.name) }
        }
    }

    /// The tools a tool plugin declares; throws a named error for a bad table,
    /// or for tools in an agent's descriptor.
    static func readTools(_ image: PluginImage, path: String, instance: String) throws(KernelError) -> [Tool] {
        let tools: [Tool]
        do { tools = try ToolTable.read(image.descriptor, instance: instance) } catch {
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

    /// What an instance's syscalls reach.
    var services: SyscallServices {
        SyscallServices(messages: messages, inference: inference, tools: tools, lifecycle: self, storage: storage)
    }
}
