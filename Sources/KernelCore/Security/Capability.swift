import Glibc

/// Something an agent may do beyond receiving, replying, logging and reading
/// the time. Deny by default: an instance holds only what it was granted.
///
/// Text forms: `infer`, `kv`, `admin`, `net`, `spawn`, `tool:NAME`,
/// `send:AGENT`, `kv:NS` and `kv:NS:ro`, where NAME and AGENT may be globs (`tool:catalog.*`,
/// `send:worker-?`) and NS is a storage namespace's name.
public enum Capability: Hashable, Sendable, CustomStringConvertible {
    /// The inference syscalls.
    case infer
    /// The storage syscalls on the instance's own namespace (the one named as it is).
    case kv
    /// The storage syscalls on namespace NS (`kv:NS`), or only `kv_get` and `kv_list` (`kv:NS:ro`).
    case kvNamespace(String, readOnly: Bool)
    /// Loading and unloading other plugins (reserved for the admin syscalls).
    case admin
    /// Creating sockets from a process-mode host (its syscall filter refuses them otherwise).
    case net
    /// Starting processes and programs from a process-mode host (fork, exec).
    case spawn
    /// Calling the tools whose full names match the glob.
    case tool(String)
    /// Sending to and calling the agents whose names match the glob.
    case send(String)

    /// Longest capability text accepted.
    public static let maxLength = 200

    /// Parses a capability's text form. Throws `.invalidArgument` naming the problem.
    public init(parsing text: String) throws(KernelError) {
        let known = "use infer, kv, admin, net, spawn, tool:NAME, send:AGENT (NAME and AGENT may use * ? [...]), kv:NS or kv:NS:ro"
        guard !text.isEmpty, text.utf8.count <= Self.maxLength else {
            throw KernelError(.invalidArgument, "capability \"\(text.prefix(40))\" must be 1 to \(Self.maxLength) bytes: \(known)")
        }
        switch text {
        case "infer": self = .infer
        case "kv": self = .kv
        case "admin": self = .admin
        case "net": self = .net
        case "spawn": self = .spawn
        default:
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw KernelError(.invalidArgument, "unknown capability \"\(text)\": \(known)")
            }
            let pattern = String(parts[1])
            guard !pattern.isEmpty, pattern.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw KernelError(.invalidArgument, "capability \"\(text)\" needs a name or glob after \"\(parts[0]):\" (printable ASCII, no spaces)")
            }
            switch parts[0] {
            case "tool": self = .tool(pattern)
            case "send": self = .send(pattern)
            case "kv":
                let readOnly = pattern.hasSuffix(":ro")
                let namespace = readOnly ? String(pattern.dropLast(3)) : pattern
                guard StorageNamespace.isValid(namespace) else {
                    throw KernelError(.invalidArgument, "capability \"\(text)\" needs a namespace after \"kv:\": \(StorageNamespace.rule)")
                }
                self = .kvNamespace(namespace, readOnly: readOnly)
            default: throw KernelError(.invalidArgument, "unknown capability \"\(text)\": \(known)")
            }
        }
    }

    public var description: String {
        switch self {
        case .infer: "infer"
        case .kv: "kv"
        case .admin: "admin"
        case .net: "net"
        case .spawn: "spawn"
        case .tool(let pattern): "tool:\(pattern)"
        case .send(let pattern): "send:\(pattern)"
        case .kvNamespace(let namespace, let readOnly): readOnly ? "kv:\(namespace):ro" : "kv:\(namespace)"
        }
    }

    /// Whether holding `self` permits everything `other` permits: the test
    /// delegation must pass (rights may only narrow). Conservative for globs:
    /// `tool:a.*` covers `tool:a.b` and `tool:a.b*`, but a glob is covered by
    /// another glob only when it is the same, a prefix-star extension of it, or
    /// the holder is `*`.
    public func covers(_ other: Capability) -> Bool {
        switch (self, other) {
        case (.infer, .infer), (.kv, .kv), (.admin, .admin), (.net, .net), (.spawn, .spawn): true
        case (.tool(let held), .tool(let wanted)), (.send(let held), .send(let wanted)):
            Self.pattern(held, covers: wanted)
        case (.kvNamespace(let held, let heldReadOnly), .kvNamespace(let wanted, let wantedReadOnly)):
            held == wanted && (!heldReadOnly || wantedReadOnly)
        default: false
        }
    }

    // MARK: Globs

    static func isGlob(_ pattern: String) -> Bool {
        pattern.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    /// Glob match as the shell does it (`*`, `?`, `[...]`); a literal pattern is compared directly.
    @inline(__always)
    static func matches(_ pattern: String, _ name: String) -> Bool {
        isGlob(pattern) ? matches(glob: pattern, name) : pattern == name
    }

    /// `matches` for a pattern known to be a glob.
    @inline(__always)
    static func matches(glob: String, _ name: String) -> Bool {
        glob == "*" || fnmatch(glob, name, 0) == 0
    }

    private static func pattern(_ held: String, covers wanted: String) -> Bool {
        if held == wanted || held == "*" { return true }
        if !isGlob(wanted) { return matches(held, wanted) }
        // A glob wanted under a glob held: only the provable case, "p*" covering "p…".
        guard held.hasSuffix("*"), !isGlob(String(held.dropLast())) else { return false }
        return wanted.hasPrefix(held.dropLast())
    }
}
