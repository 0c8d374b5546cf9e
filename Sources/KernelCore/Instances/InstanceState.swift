/// Where an instance is in its life, as `agentctl ps` shows it.
public enum InstanceState: String, Sendable, CaseIterable {
    /// `init` is running on the instance's thread.
    case loading
    /// Handling messages.
    case running
    /// Being unloaded: no new messages; the current handler may still finish.
    case stopping
    /// Unloaded: `stop` ran and the library is closed.
    case stopped
    /// `init` returned an error, or the file could not be loaded.
    case failed
    /// A handler has run past its deadline, or the instance would not stop.
    /// The library stays open while any thread may still run its code.
    case hung
    /// Retired by `unload --force` while its thread still ran plugin code: its
    /// name and mailbox are free, the thread is parked until it returns (then
    /// reaped) or the kernel restarts, and its library stays open.
    case zombie

    /// True while the instance holds its name and mailbox (a zombie's thread may still run, but it holds neither).
    public var isLive: Bool {
        switch self {
        case .loading, .running, .stopping, .hung: true
        case .stopped, .failed, .zombie: false
        }
    }
}
