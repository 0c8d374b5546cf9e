import Glibc

/// Who sent a message: an instance, or the control API ("agentctl").
///
/// Owns the NUL-terminated copy of the name that `aos_message.from` points to;
/// every queued message retains its sender's identity, so `from` stays valid
/// while the message is handled even if the sender was unloaded meanwhile.
public final class SenderIdentity: Sendable {
    public let name: String
    /// The instance id, or 0 for the control API.
    public let instanceID: UInt64
    nonisolated(unsafe) let cName: UnsafeMutablePointer<CChar>

    public init(name: String, instanceID: UInt64) {
        self.name = name
        self.instanceID = instanceID
        self.cName = strdup(name)
    }

    deinit { free(cName) }

    /// The control API, the sender of messages from `agentctl send`.
    public static let controlAPI = SenderIdentity(name: "agentctl", instanceID: 0)

    /// The kernel itself, the sender of inference results.
    public static let kernel = SenderIdentity(name: "kernel", instanceID: 0)
}
