/// Limits and defaults of one kernel, set from `agentosd`'s flags.
public struct KernelConfiguration: Sendable {
    /// Messages each instance's mailbox holds before senders get AOS_EFULL.
    public var mailboxCapacity = 1024
    /// The largest message body, in bytes.
    public var maxMessageBytes = 1 << 20
    /// A handler running longer than this, in seconds, marks its instance hung.
    public var handlerDeadline: Double = 10
    /// Seconds `init` may run before the load fails and the instance is left hung.
    public var initTimeout: Double = 10
    /// Log lines kept per instance.
    public var logCapacity = 1000
    /// Stopped and failed instances kept for `ps -a`.
    public var endedLimit = 256
    /// Inference requests queued at most before submitters get AOS_EFULL.
    public var inferenceQueueCapacity = 4096
    /// Seconds `plugin_unload` lets the instance's handler finish before it is left hung.
    public var unloadTimeout: Double = 5
    /// Milliseconds the tool loop waits for one tool call.
    public var toolTimeoutMs: UInt32 = 30_000
    /// Whether syscalls check capabilities and quotas. Only a benchmark
    /// measuring what the checks cost turns this off; agentosd has no flag for it.
    public var checksPolicy = true
    /// The first id of messages and requests; the daemon makes it unique across runs.
    public var firstID: UInt64 = 1
    /// This kernel's node name in a cluster (`agentosd --node`); nil: not in one.
    public var clusterNode: String?
    /// The model name this kernel serves its engine to the cluster under
    /// (`agentosd --serve-engine`); nil: it serves none.
    public var servedModel: String?
    /// Where plugins loaded from Plugins/ run unless their policy names an isolation.
    public var defaultIsolation = Isolation.thread
    /// Where private copies of loaded plugins go.
    public var pluginCopiesPath: String

    public init(pluginCopiesPath: String) {
        self.pluginCopiesPath = pluginCopiesPath
    }
}
