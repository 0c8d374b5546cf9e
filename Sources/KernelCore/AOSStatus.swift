import CAgentOS
import Glibc

/// A status returned across the plugin ABI. Mirrors `aos_status` in agentos.h:
/// the codes, names and messages come from the header, one table for two languages.
public struct AOSStatus: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = AOSStatus(rawValue: AOS_OK)
    public static let invalidArgument = AOSStatus(rawValue: AOS_EINVAL)
    public static let notFound = AOSStatus(rawValue: AOS_ENOTFOUND)
    public static let full = AOSStatus(rawValue: AOS_EFULL)
    public static let timedOut = AOSStatus(rawValue: AOS_ETIMEDOUT)
    public static let stopping = AOSStatus(rawValue: AOS_ESTOPPING)
    public static let permissionDenied = AOSStatus(rawValue: AOS_EPERM)
    public static let quotaExceeded = AOSStatus(rawValue: AOS_EQUOTA)
    public static let abiMismatch = AOSStatus(rawValue: AOS_EABI)
    public static let `internal` = AOSStatus(rawValue: AOS_EINTERNAL)
    public static let tooBig = AOSStatus(rawValue: AOS_ETOOBIG)
    public static let exists = AOSStatus(rawValue: AOS_EEXIST)
    public static let outOfMemory = AOSStatus(rawValue: AOS_ENOMEM)
    public static let wrongThread = AOSStatus(rawValue: AOS_EWRONGTHREAD)
    public static let cancelled = AOSStatus(rawValue: AOS_ECANCELLED)
    public static let handlerFailed = AOSStatus(rawValue: AOS_EHANDLER)
    public static let engineUnavailable = AOSStatus(rawValue: AOS_EUNAVAIL)
    public static let toolFailed = AOSStatus(rawValue: AOS_ETOOL)
    public static let toolLoop = AOSStatus(rawValue: AOS_ELOOP)
    public static let conflict = AOSStatus(rawValue: AOS_ECONFLICT)
    public static let storageUnavailable = AOSStatus(rawValue: AOS_ESTORAGE)
    public static let crashed = AOSStatus(rawValue: AOS_ECRASHED)
    public static let unreachable = AOSStatus(rawValue: AOS_EUNREACHABLE)
    public static let ambiguous = AOSStatus(rawValue: AOS_EAMBIGUOUS)

    /// Whether the header names this code (a plugin may return any int32).
    public var isKnown: Bool { strcmp(aos_status_name(rawValue), "AOS_E?") != 0 }
    /// The header's symbolic name, e.g. "AOS_EFULL"; for a code the header
    /// does not name, "AOS_E?" with the value, e.g. "AOS_E?(7)".
    public var name: String { isKnown ? String(cString: aos_status_name(rawValue)) : "AOS_E?(\(rawValue))" }
    /// The header's short description, e.g. "mailbox full"; "not an aos_status code" for others.
    public var message: String { isKnown ? String(cString: aos_status_message(rawValue)) : "not an aos_status code" }
    /// "AOS_EFULL (mailbox full)", or "AOS_E?(7) (not an aos_status code)".
    public var description: String { "\(name) (\(message))" }
}
