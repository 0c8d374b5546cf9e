import Dispatch
import Synchronization

/// `plugin_load` and `plugin_unload`: the syscalls the `admin` capability guards.
extension PluginLifecycle {
    /// `plugin_load`, on the calling instance's own thread, which it blocks until the load ends.
    func pluginLoad(
        from instance: Instance, path: UnsafePointer<CChar>?, name: UnsafePointer<CChar>?, config: UnsafePointer<CChar>?
    ) -> AOSStatus {
        guard instance.isOwnThread else { return .wrongThread }
        guard !instance.stopRequested.load(ordering: .relaxed) else { return .stopping }
        guard instance.mayAdminister(.pluginLoad) else { return .permissionDenied }
        guard let path = path.flatMap(String.init(validatingCString:)),
              let name = Self.optionalText(name), let config = Self.optionalText(config) else {
            instance.log.append(.warn, .kernel, "plugin_load: path is NULL, or a string is not UTF-8")
            return .invalidArgument
        }
        let outcome = blockInstance(instance) { [self] () async throws(KernelError) -> Instance in
            try await load(path: path, name: name, config: config ?? "", origin: .agent)
        }
        switch outcome {
        case .success(let loaded):
            instance.log.append(.info, .kernel, "plugin_load: loaded \(path) as \(loaded.name)")
            logger.info("loaded by an agent", metadata: ["agent": "\(instance.name)", "loaded": "\(loaded.name)"])
            return .ok
        case .failure(let error):
            return instance.refuse(.pluginLoad, error.status, error.message)
        }
    }

    /// `plugin_unload`, on the calling instance's own thread, which it blocks until the instance stopped.
    func pluginUnload(from instance: Instance, name: UnsafePointer<CChar>?) -> AOSStatus {
        guard instance.isOwnThread else { return .wrongThread }
        guard !instance.stopRequested.load(ordering: .relaxed) else { return .stopping }
        guard instance.mayAdminister(.pluginUnload) else { return .permissionDenied }
        guard let name = name.flatMap(String.init(validatingCString:)), name != instance.name else {
            instance.log.append(.warn, .kernel, "plugin_unload: name is NULL, not UTF-8, or this instance itself")
            return .invalidArgument
        }
        let timeout = configuration.unloadTimeout
        let outcome = blockInstance(instance) { [self] () async throws(KernelError) -> InstanceSummary in
            try await unload(name: name, timeout: timeout)
        }
        switch outcome {
        case .success:
            instance.log.append(.info, .kernel, "plugin_unload: unloaded \(name)")
            logger.info("unloaded by an agent", metadata: ["agent": "\(instance.name)", "unloaded": "\(name)"])
            return .ok
        case .failure(let error):
            instance.log.append(.warn, .kernel, "plugin_unload: \(error.message)")
            return switch error.code {
            case .notFound: .notFound
            case .hung: .timedOut
            default: .internal
            }
        }
    }

    /// Runs `work` on the concurrency pool and blocks the instance's own thread
    /// until it ends; the wait does not count against the handler deadline.
    private func blockInstance<T: Sendable>(
        _ instance: Instance, _ work: @escaping @Sendable () async throws(KernelError) -> T
    ) -> Result<T, KernelError> {
        let handlerStart = instance.handlerStartedAt.exchange(0)
        let waitStart = monotonicNanos()
        defer {
            if handlerStart != 0 {
                instance.handlerStartedAt.store(handlerStart &+ (monotonicNanos() &- waitStart))
            }
        }
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<T, KernelError>?>(nil)
        Task {
            let result: Result<T, KernelError>
            do throws(KernelError) { result = .success(try await work()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }

    /// A C string the caller may leave NULL: .some(nil) for NULL, nil when it is not UTF-8.
    private static func optionalText(_ text: UnsafePointer<CChar>?) -> String?? {
        guard let text else { return .some(nil) }
        return String(validatingCString: text).map { .some($0) }
    }
}
