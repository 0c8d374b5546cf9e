import CAgentOSKit

/// A status returned across the plugin ABI. Mirrors `aos_status` in agentos.h:
/// the codes, names and messages come from the header.
public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = Status(rawValue: AOS_OK)
    public static let invalidArgument = Status(rawValue: AOS_EINVAL)
    public static let notFound = Status(rawValue: AOS_ENOTFOUND)
    public static let full = Status(rawValue: AOS_EFULL)
    public static let timedOut = Status(rawValue: AOS_ETIMEDOUT)
    public static let stopping = Status(rawValue: AOS_ESTOPPING)
    public static let permissionDenied = Status(rawValue: AOS_EPERM)
    public static let quotaExceeded = Status(rawValue: AOS_EQUOTA)
    public static let abiMismatch = Status(rawValue: AOS_EABI)
    public static let `internal` = Status(rawValue: AOS_EINTERNAL)
    public static let tooBig = Status(rawValue: AOS_ETOOBIG)
    public static let exists = Status(rawValue: AOS_EEXIST)
    public static let outOfMemory = Status(rawValue: AOS_ENOMEM)
    public static let wrongThread = Status(rawValue: AOS_EWRONGTHREAD)
    public static let cancelled = Status(rawValue: AOS_ECANCELLED)
    public static let handlerFailed = Status(rawValue: AOS_EHANDLER)
    public static let engineUnavailable = Status(rawValue: AOS_EUNAVAIL)
    public static let toolFailed = Status(rawValue: AOS_ETOOL)
    public static let toolLoop = Status(rawValue: AOS_ELOOP)
    public static let conflict = Status(rawValue: AOS_ECONFLICT)
    public static let storageUnavailable = Status(rawValue: AOS_ESTORAGE)
    /// 1.8: a process-mode receiver's host died while it handled the message.
    public static let crashed = Status(rawValue: AOS_ECRASHED)
    /// 1.9, the cluster: the agent's node is gone or the link is down; a plain name runs on several nodes.
    public static let unreachable = Status(rawValue: AOS_EUNREACHABLE)
    public static let ambiguous = Status(rawValue: AOS_EAMBIGUOUS)

    /// The header's symbolic name, e.g. "AOS_EFULL" ("AOS_E?(7)" for a code it does not name).
    public var name: String {
        let name = String(cString: aos_status_name(rawValue))
        return name == "AOS_E?" ? "AOS_E?(\(rawValue))" : name
    }
    /// The header's short description, e.g. "mailbox full".
    public var message: String { String(cString: aos_status_message(rawValue)) }
    /// "AOS_EFULL (mailbox full)".
    public var description: String { "\(name) (\(message))" }
}

/// A failed syscall, or a failure a plugin reports: the status that crosses
/// the ABI and, for a syscall, the kernel's reason (`last_error`), e.g.
/// "no agent named weather is running (see `agentctl ps`)".
///
/// Thrown from a handler, its status is what the handler returns to the kernel.
public struct AgentOSError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: Status
    public var message: String

    public init(_ status: Status, _ message: String = "") {
        self.status = status
        self.message = message
    }

    /// "AOS_ENOTFOUND (not found): no agent named weather is running".
    public var description: String { message.isEmpty ? status.description : "\(status): \(message)" }
}
