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

    /// True while the instance's thread may still run plugin code.
    public var isLive: Bool {
        switch self {
        case .loading, .running, .stopping, .hung: true
        case .stopped, .failed: false
        }
    }
}
