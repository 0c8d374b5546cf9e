import Foundation
import Logging
import Tools

extension PluginLifecycle {
    /// Replaces the running instance `name` with a new instance of the plugin
    /// at `path` (else the file it was loaded from, read again), losing no
    /// queued message and no waiting caller: hot reload.
    ///
    /// The file is opened and checked as `load` checks it, and the new
    /// instance gets the old one's settings (name, config, priority, grants,
    /// quotas, isolation, restart policy, origin) and runs its `init`. Until
    /// `init` has returned AOS_OK, a failure leaves the old instance running
    /// untouched. Then the handover, in this order:
    ///
    /// 1. The new instance's tools are registered (a tool the new version
    ///    drops goes in step 4).
    /// 2. The old mailbox is handed over (`Mailbox.handOver(to:)`): under its
    ///    lock it stops delivering, its messages not started move to the new
    ///    mailbox in order, and every later push to it is passed on. A sender
    ///    that still reaches the old instance (it looked the name up just
    ///    before, or cached it as its last receiver) lands behind what moved,
    ///    so per-sender FIFO holds.
    /// 3. The table gives the name to the new instance (`InstanceTable.replace`):
    ///    sends from now on reach it directly.
    /// 4. The old instance's remaining tools are unregistered.
    ///
    /// Forwarding was chosen over holding a lock on the name across the swap
    /// or having the router retry a mailbox closed for handover: no sender
    /// ever waits on a reload or sees a refusal, the send path gains one
    /// branch under the mailbox lock it takes anyway, and a sender's cached
    /// receiver needs no invalidation.
    ///
    /// The old instance's running handler then finishes (its callers get
    /// their replies) and its thread ends as at unload: requests it took and
    /// has not answered fail with AOS_ESTOPPING, its `save` runs (ABI 1.12;
    /// the new instance's `restore` takes the bytes before its first message,
    /// see `StateHandoff`), `stop` runs, the library is closed. Waits up to `timeout` seconds for that; then wakes its blocked
    /// syscalls (AOS_ESTOPPING), and if it still runs, leaves it to be closed
    /// when its handler returns (it is marked hung, and says so in its log).
    ///
    /// The durable record (origin `.agentctl`) names the new file and hash.
    /// Not `explicitly` (the `Plugins/` watcher): content that crashed the
    /// kernel is refused, as `load` refuses it.
    ///
    /// Throws `.notFound` for an unknown name, `.stopping` when the instance
    /// is being unloaded, and `load`'s errors for the file, its descriptor or
    /// its `init`, each saying that the old instance keeps running.
    public func reload(name: String, path: String? = nil, timeout: Double, explicitly: Bool = true) async throws(KernelError) -> Instance {
        try await reload(name: name, path: path, timeout: timeout, explicitly: explicitly, onlyIfNamed: false)!
    }

    /// `reload` for the `Plugins/` watcher: when the descriptor at `path`
    /// names another plugin than `name`, returns nil having changed nothing
    /// (the file is then a different plugin, which is unloaded and loaded).
    public func reloadIfSameName(_ name: String, path: String, timeout: Double) async throws(KernelError) -> Instance? {
        try await reload(name: name, path: path, timeout: timeout, explicitly: false, onlyIfNamed: true)
    }

    private func reload(
        name: String, path requestedPath: String?, timeout: Double, explicitly: Bool, onlyIfNamed: Bool
    ) async throws(KernelError) -> Instance? {
        guard let old = table.lookup(name) else {
            throw KernelError(.notFound, "no instance named \(name) (see `agentctl ps`)")
        }
        guard !old.stopRequested.load(ordering: .relaxed) else {
            throw KernelError(.stopping, "\(name) is being unloaded; load it again with `agentctl load`")
        }
        let path = requestedPath ?? old.image.sourcePath
        let new: Instance
        do throws(KernelError) {
            guard let made = try await makeSuccessor(of: old, from: path, explicitly: explicitly, onlyIfNamed: onlyIfNamed) else {
                return nil
            }
            new = made
            try await startSuccessor(new, path: path)
        } catch {
            let message = error.code == .hung
                ? "cannot reload \(name) from \(path): init of the new version did not return within \(String(format: "%g", configuration.initTimeout)) s; it is abandoned (listed as hung in `agentctl ps -a`), and closed if it ever returns"
                : error.message
            old.log.append(.error, .kernel, "reload from \(path) failed: \(message)")
            logger.error("reload failed", metadata: ["agent": "\(name)", "plugin": "\(path)", "error": "\(message)"])
            throw KernelError(error.code, "\(message); \(name) keeps running its current version")
        }
        try handOver(from: old, to: new, path: path)
        if let sha256 = new.image.contentSHA256 { crashes.loaded(path: path, sha256: sha256, explicitly: explicitly) }
        await drain(old, timeout: timeout)
        new.stateHandoff?.offer(nil)  // the old one did not get to save: the new one goes on without
        return new
    }

    /// Starts the new version of a reload, as `start`. When its init does not
    /// return in time it is abandoned: it never holds the name, and is listed
    /// as hung in `ps -a` until its init returns and its thread ends.
    private func startSuccessor(_ new: Instance, path: String) async throws(KernelError) {
        do throws(KernelError) {
            try await start(new, path: path)
        } catch {
            if error.code == .hung {
                new.recordError("the new version of a reload: init did not return within \(String(format: "%g", configuration.initTimeout)) s; abandoned, closed if it returns")
                table.retireZombie(new)
            }
            throw error
        }
    }

    /// Opens and checks `path` and makes the instance that will replace `old`,
    /// with its settings; nil when `onlyIfNamed` and the descriptor names
    /// another plugin. Its thread is not started.
    private func makeSuccessor(of old: Instance, from path: String, explicitly: Bool, onlyIfNamed: Bool) async throws(KernelError) -> Instance? {
        let name = old.name
        var image = try await open(path)
        if !explicitly, let sha256 = image.contentSHA256, let crash = crashes.blocking(sha256: sha256) {
            image.close()
            throw KernelError(.conflict, "not reloading \(name) from \(path) by itself: it \(crash.reason) (reload it with `agentctl reload \(name) \(path)`)")
        }
        if onlyIfNamed, image.descriptor.pointee.name.map({ String(cString: $0) }) != name {
            image.close()
            return nil
        }
        let declared: [Tool]
        do {
            declared = try Self.readTools(image, path: path, instance: name)
        } catch {
            image.close()
            throw error
        }
        if old.image.isolation == .process {
            image = try loader.isolated(image, name: name, restart: old.image.restartPolicy ?? RestartPolicy())
        }
        let new = Instance(
            id: ids.mint(), name: name, image: image, config: old.config, priority: old.priority, tools: declared,
            grants: old.grants.withLock { $0 }, origin: old.origin, services: services, configuration: configuration,
            audit: capabilities.audit, thread: threads.makeThread(named: "aos:" + name), predecessor: old)
        guard new.attachHandle() else {
            image.close()
            throw KernelError(.internal, "cannot reload \(name): the kernel runs as many instances as it can hold")
        }
        quotas.apply(old.quotas.withLock { $0.limits }, to: new)
        new.sandboxHost()
        return new
    }

    /// Steps 1 to 4 of `reload`, once `new` runs. Throws `.stopping` (and
    /// stops `new`) when `old` was unloaded meanwhile.
    private func handOver(from old: Instance, to new: Instance, path: String) throws(KernelError) {
        tools.registry.register(new)
        if let handoff = new.stateHandoff { old.handState(to: handoff) }
        guard let refused = old.mailbox.handOver(to: new.mailbox) else {
            new.stateHandoff?.offer(nil)
            tools.registry.unregister(new)
            new.requestStop()
            messages.returnUndelivered(new.mailbox.close(), of: new, logger: logger)
            throw KernelError(.stopping, "\(old.name) was unloaded while the new version's init ran; load it again with `agentctl load \(path)`")
        }
        let replaced = table.replace(old, with: new)
        assert(replaced, "an instance whose mailbox was open holds its name")
        tools.registry.unregister(old)
        old.transition(from: .running, to: .stopping)
        old.handMetrics(to: new)
        // Only a new instance that failed at once refuses what was queued: return it to its senders.
        messages.returnUndelivered(refused, of: new, logger: logger)
        old.log.append(.info, .kernel, "replaced by instance \(new.id) from \(path); finishing its current handler")
        new.log.append(.info, .kernel, "reloaded from \(path) as instance \(new.id), replacing instance \(old.id) (its queued messages moved here)"
            + (new.tools.isEmpty ? "" : " with \(new.tools.count) tools"))
        capabilities.recordLoadGrants(new, fromPolicy: [], fromLoad: [], loadSource: "reload")
        records.record(new)
        logger.info("reloaded", metadata: ["agent": "\(new.name)", "id": "\(new.id)", "replaced": "\(old.id)", "plugin": "\(path)"])
    }

    /// Waits for the replaced instance to end; see `reload`.
    private func drain(_ old: Instance, timeout: Double) async {
        if await old.waitForExit(seconds: timeout) { return }
        old.requestStop()
        if await old.waitForExit(seconds: 1) { return }
        let seconds = String(format: "%g", timeout)
        guard old.markHungIfRunning(error: "replaced by a reload; its handler did not return within \(seconds) s") else { return }
        old.log.append(.error, .kernel, "replaced by a reload, its handler did not return within \(seconds) s; closed when it returns")
        logger.error("replaced instance did not stop", metadata: ["agent": "\(old.name)", "id": "\(old.id)", "timeout_s": "\(seconds)"])
    }
}
