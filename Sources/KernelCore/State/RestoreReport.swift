/// What the kernel's start made of the instances recorded before it: the
/// ones loaded again and the ones it could not (each with why). Read by
/// `agentctl status`, `/readyz` and the log. A value.
public struct RestoreReport: Sendable, Equatable {
    /// How the restore went as a whole.
    public enum Phase: Sendable, Equatable {
        /// Not started yet, or under way.
        case restoring
        /// Done: see `restored` and `notRestored`.
        case done
        /// `--no-restore`: the kernel started empty and forgot the records.
        case skipped
        /// No usable state database: nothing is restored or kept, for this reason.
        case unavailable(String)
    }

    /// One recorded instance that was not loaded again.
    public struct Failure: Sendable, Equatable {
        public var name: String
        public var plugin: String
        public var reason: String
    }

    public var phase: Phase
    /// Names loaded again, in load order.
    public var restored: [String] = []
    public var notRestored: [Failure] = []
}
