import Foundation
import KernelCore
import KernelPOSIX
import Logging

/// Every kernel the unit tests run, in this process; the one place they construct a `Kernel`.
public enum TestKernel {
    /// A kernel whose plugins are the Swift agents of `InProcessLoader`, with
    /// mailboxes of 16 messages.
    public static func inProcess(handlerDeadline: Double = 10) -> Kernel {
        var configuration = KernelConfiguration(pluginCopiesPath: "/nonexistent")
        configuration.mailboxCapacity = 16
        configuration.handlerDeadline = handlerDeadline
        return make(configuration, loader: InProcessLoader(), engine: nil, audit: nil)
    }

    /// A kernel that loads real plugin files (see `pluginPath`) with dlopen,
    /// keeping their private copies in `copies` (default: a fresh temporary folder),
    /// serving inference with `engine`, auditing to `audit` and storing with `storage`, `sessions` and `runs` when given.
    public static func withPluginFiles(
        copies: String = NSTemporaryDirectory() + "agentos-test-\(UUID().uuidString)",
        engine: InferenceEngine? = nil, audit: AuditLog? = nil, storage: StorageService = StorageService(store: nil),
        records: InstanceRecordStore? = nil, sessions: SessionService = SessionService(store: nil),
        runs: RunService = RunService(store: nil)
    ) throws -> Kernel {
        let loader = PluginLoader(copiesDirectory: copies)
        try loader.prepare()
        return make(
            KernelConfiguration(pluginCopiesPath: copies), loader: loader, engine: engine, audit: audit, storage: storage,
            records: records, sessions: sessions, runs: runs)
    }

    private static func make(
        _ configuration: KernelConfiguration, loader: PluginLoading, engine: InferenceEngine?, audit: AuditLog?,
        storage: StorageService = StorageService(store: nil), records: InstanceRecordStore? = nil,
        sessions: SessionService = SessionService(store: nil), runs: RunService = RunService(store: nil)
    ) -> Kernel {
        Kernel(
            configuration: configuration, loader: loader, threads: POSIXThreads(), logger: Logger(label: "test"), engine: engine,
            audit: audit, storage: storage, records: records, sessions: sessions, runs: runs)
    }
}
