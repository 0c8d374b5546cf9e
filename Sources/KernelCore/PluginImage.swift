import CAgentOS

/// Plugin code the kernel can run: a validated descriptor in a loaded library.
///
/// The kernel calls `close()` exactly once, after the last thread that could
/// run the plugin's code has been joined. Implementations: `DynamicLibraryImage`
/// (dlopen) in KernelPOSIX, and in-process descriptors in tests.
public protocol PluginImage: AnyObject, Sendable {
    /// The descriptor; valid until `close()`.
    var descriptor: UnsafePointer<aos_plugin_descriptor> { get }
    /// The file the operator named (not the private copy).
    var sourcePath: String { get }
    /// Unmaps the code and removes any private copy.
    func close()
    /// Where its code runs.
    var isolation: Isolation { get }
    /// SHA-256 of the content loaded (64 lowercase hex digits); nil when the
    /// image has no file behind it. What a restore checks the file against.
    var contentSHA256: String? { get }
    /// The restart policy of a process-mode image; nil in thread mode.
    var restartPolicy: RestartPolicy? { get }
    /// What the instance thread passes to `init` in `*state` (nil for a plugin's own
    /// descriptor; a process-mode image's proxy finds its host there).
    var initialState: UnsafeMutableRawPointer? { get }
    /// The host of a process-mode image; nil in thread mode. Any thread.
    var hostStatus: HostProcessStatus? { get }
    /// After `on_message` returned AOS_ECRASHED, on the instance's thread with
    /// the state `init` gave: starts the next host as the restart policy says.
    /// Returns whether a host runs (false: see `hostStatus?.outcome`).
    func recover(context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> Bool
    /// The limits the OS enforces on a process-mode image's host (nil: none):
    /// its plugin code may run `handlerDeadlineMs` between two syscalls before
    /// the host is killed as hung (at once), and the host's address space and
    /// CPU time are bounded (`RLIMIT_AS`, `RLIMIT_CPU`; from the next host
    /// started). Thread mode has no host: it ignores them. Any thread.
    func limitHost(handlerDeadlineMs: Int?, memoryBytes: Int?, cpuSeconds: Int?)
    /// What a process-mode image's host lets its plugin do beyond its own
    /// process, from the next host started. Thread mode ignores it. Any thread.
    func sandboxHost(_ allowances: HostAllowances)
    /// How plain messages reach handlers that run elsewhere, sent ahead of
    /// each other's returns (a process-mode image); nil: `on_message`, one at a time.
    var pipeline: (any MessagePipeline)? { get }
}

extension PluginImage {
    public var isolation: Isolation { .thread }
    public var contentSHA256: String? { nil }
    public var restartPolicy: RestartPolicy? { nil }
    public var initialState: UnsafeMutableRawPointer? { nil }
    public var hostStatus: HostProcessStatus? { nil }
    public func recover(context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> Bool { true }
    public func limitHost(handlerDeadlineMs: Int?, memoryBytes: Int?, cpuSeconds: Int?) {}
    public func sandboxHost(_ allowances: HostAllowances) {}
    public var pipeline: (any MessagePipeline)? { nil }
}

/// Opens plugin files: checks them and returns an image ready to run.
public protocol PluginLoading: Sendable {
    /// Opens `path`. Throws a `KernelError` naming the file and what is wrong with it.
    func open(path: String) throws(KernelError) -> PluginImage
    /// An image that runs `image`'s plugin in its own host process as instance
    /// `name`; takes over `image` (closes it when closed, or at once on failure).
    /// Throws when the plugin cannot run there (a tool plugin) or this loader
    /// cannot run process-mode instances.
    func isolated(_ image: PluginImage, name: String, restart: RestartPolicy) throws(KernelError) -> PluginImage
}

extension PluginLoading {
    public func isolated(_ image: PluginImage, name: String, restart: RestartPolicy) throws(KernelError) -> PluginImage {
        image.close()
        throw KernelError(.invalidArgument, "cannot load \(image.sourcePath) in process mode: this kernel's loader runs plugins in thread mode only")
    }
}
