/// The services an instance's syscalls dispatch to. Each instance holds one;
/// the services outlive their instances (the kernel owns both, and a syscall
/// reaches them only through a live handle: `ContextTable`). Unretained and
/// lent for the length of a call: a syscall costs no reference counting on
/// the shared services, which every instance's thread would contend for.
struct SyscallServices: Sendable {
    private let router: Unmanaged<MessageRouter>
    private let inferenceService: Unmanaged<InferenceService>
    private let toolService: Unmanaged<ToolService>
    private let pluginLifecycle: Unmanaged<PluginLifecycle>
    private let storageService: Unmanaged<StorageService>

    init(
        messages: MessageRouter, inference: InferenceService, tools: ToolService, lifecycle: PluginLifecycle, storage: StorageService
    ) {
        router = .passUnretained(messages)
        inferenceService = .passUnretained(inference)
        toolService = .passUnretained(tools)
        pluginLifecycle = .passUnretained(lifecycle)
        storageService = .passUnretained(storage)
    }

    @inline(__always)
    func messages<Result>(_ body: (MessageRouter) -> Result) -> Result { router._withUnsafeGuaranteedRef(body) }

    @inline(__always)
    func inference<Result>(_ body: (InferenceService) -> Result) -> Result { inferenceService._withUnsafeGuaranteedRef(body) }

    @inline(__always)
    func tools<Result>(_ body: (ToolService) -> Result) -> Result { toolService._withUnsafeGuaranteedRef(body) }

    @inline(__always)
    func lifecycle<Result>(_ body: (PluginLifecycle) -> Result) -> Result { pluginLifecycle._withUnsafeGuaranteedRef(body) }

    @inline(__always)
    func storage<Result>(_ body: (StorageService) -> Result) -> Result { storageService._withUnsafeGuaranteedRef(body) }
}
