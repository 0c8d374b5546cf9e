/// Part of `GET /v1/status`: what the kernel's start made of the instances
/// recorded in state.sqlite before it (`agentctl status`, row "restored").
public struct RestoreInfo: Codable, Sendable, Equatable {
    /// "restoring", "done", "skipped" (`--no-restore`) or "unavailable" (no usable state database).
    public var state: String
    /// Why nothing is restored or kept, when `state` is "unavailable".
    public var reason: String?
    /// Names loaded again, in load order.
    public var restored: [String]
    /// Recorded instances not loaded again, and why (a changed or missing file, ...).
    public var notRestored: [NotRestored]

    public struct NotRestored: Codable, Sendable, Equatable {
        public var name: String
        public var plugin: String
        public var reason: String

        public init(name: String, plugin: String, reason: String) {
            self.name = name
            self.plugin = plugin
            self.reason = reason
        }
    }

    public init(state: String, reason: String? = nil, restored: [String] = [], notRestored: [NotRestored] = []) {
        self.state = state
        self.reason = reason
        self.restored = restored
        self.notRestored = notRestored
    }
}
