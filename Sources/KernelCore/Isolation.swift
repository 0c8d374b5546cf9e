/// Where an instance's plugin code runs.
///
/// `thread`: on a thread of the kernel's process (fastest; a crash ends the
/// kernel). `process`: in its own `agentos-host` process, reached over a
/// validated channel, sandboxed and restarted after a crash.
public enum Isolation: String, Sendable, CaseIterable {
    case thread, process

    /// Parses "thread" or "process"; throws a KernelError naming the value otherwise.
    public init(parsing text: String) throws(KernelError) {
        guard let isolation = Isolation(rawValue: text) else {
            throw KernelError(.invalidArgument, "unknown isolation \"\(text)\" (use thread or process)")
        }
        self = isolation
    }
}

/// How a process-mode instance's host is doing, for `ps`. A snapshot.
public struct HostProcessStatus: Sendable, Equatable {
    /// Whether the instance may still run a host.
    public enum Outcome: Sendable, Equatable {
        /// A host runs, or will be started for the next message.
        case supervised
        /// Crashed and not restarted (intensity exceeded, temporary, init refused); the reason is in `lastCrash`.
        case failed
        /// Its host exited with status 0 and its policy does not restart that.
        case endedNormally
    }

    /// The running host's pid; nil between a crash and its restart, or once ended.
    public var pid: Int32?
    /// Hosts started again after a crash.
    public var restarts: Int
    /// Crashes so far.
    public var crashes: Int
    /// The last crash: signal, faulting address, nearest plugin symbol, how the host ended.
    public var lastCrash: String?
    /// The last crash's kind, the `reason` label of `agentos_instance_restarts_total`:
    /// signal, exit, closed, invalid_frame, no_answer or internal.
    public var lastReason: String?
    public var outcome: Outcome

    public init(pid: Int32?, restarts: Int, crashes: Int, lastCrash: String?, lastReason: String?, outcome: Outcome) {
        self.pid = pid
        self.restarts = restarts
        self.crashes = crashes
        self.lastCrash = lastCrash
        self.lastReason = lastReason
        self.outcome = outcome
    }
}
