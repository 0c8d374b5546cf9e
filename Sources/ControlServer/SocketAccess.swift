import Glibc

/// Who may use the kernel's control socket: the kernel's own user, root, and —
/// when the operator names one (`agentosd --socket-group NAME`) — the members of
/// one group. dockerd guards docker.sock the same way; on top of the socket
/// file's mode, every connection's peer credentials are checked, so a socket
/// file whose mode was loosened still admits nobody else.
public struct SocketAccess: Sendable {
    /// A group whose members may use the socket.
    public struct Group: Sendable, Equatable {
        public var name: String
        public var gid: gid_t
    }

    /// Why `--socket-group` cannot be used.
    public enum GroupError: Error, CustomStringConvertible {
        /// The group database has no group of that name.
        case unknown(name: String)
        /// The kernel runs neither as root nor as a member of the group, so it
        /// cannot hand the socket file to that group (`chown(2)` would fail).
        case notAMember(name: String, uid: uid_t)
        /// The group database could not be read (`errno`).
        case lookupFailed(name: String, errno: Int32)

        public var description: String {
            switch self {
            case .unknown(let name):
                "no group named \(name)"
            case .notAMember(let name, let uid):
                "uid \(uid) is neither root nor a member of group \(name), so it cannot give that group the control socket"
            case .lookupFailed(let name, let code):
                "cannot look up group \(name): \(String(cString: strerror(code)))"
            }
        }
    }

    /// A file permission or ownership change on the socket or the home that failed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The user the kernel runs as (its effective uid): it may always connect, as may root.
    public let ownerUID: uid_t
    /// The group whose members may connect too, if the operator named one.
    public let group: Group?

    /// Access for a kernel running as this process's effective user; with
    /// `socketGroup`, the members of the group of that name may connect too.
    ///
    /// Throws `GroupError` when there is no such group, when it cannot be looked
    /// up, or when this process is neither root nor a member of it.
    /// Thread: any; reads the group database.
    public init(socketGroup: String?) throws {
        ownerUID = geteuid()
        guard let socketGroup else {
            group = nil
            return
        }
        let group = try Self.group(named: socketGroup)
        guard ownerUID == 0 || Self.processGroups().contains(group.gid) else {
            throw GroupError.notAMember(name: socketGroup, uid: ownerUID)
        }
        self.group = group
    }

    /// The mode of the socket file: 0600, or 0660 with a group.
    public var socketMode: mode_t { group == nil ? 0o600 : 0o660 }

    /// Whether `peer` may use the socket: its uid is the kernel's or root's; or,
    /// with a group, its gid is the group's or its user's groups in the user
    /// database (`getgrouplist(3)`) include the group.
    ///
    /// Thread: any. Only a peer that is neither the kernel's user nor root, while
    /// a group is set, costs a look-up in the user database.
    public func admits(_ peer: PeerCredentials) -> Bool {
        if peer.uid == ownerUID || peer.uid == 0 { return true }
        guard let group else { return false }
        return peer.gid == group.gid || Self.groups(ofUser: peer.uid).contains(group.gid)
    }

    /// The one line a refused `peer` reads: who it is, who may connect, and how
    /// the operator lets more users in.
    public func refusal(of peer: PeerCredentials) -> String {
        let kernelUser = ownerUID == 0 ? "root (the kernel's user)" : "uid \(ownerUID) (the kernel's user)"
        let allowed = switch (group, ownerUID) {
        case (nil, 0): "only \(kernelUser) may (agentosd --socket-group names a group that may)"
        case (nil, _): "only \(kernelUser) and root may (agentosd --socket-group names a group that may)"
        case (let group?, 0): "only \(kernelUser) and members of group \(group.name) (gid \(group.gid)) may"
        case (let group?, _): "only \(kernelUser), root and members of group \(group.name) (gid \(group.gid)) may"
        }
        return "uid \(peer.uid) may not use this kernel's control socket: \(allowed)"
    }

    /// Gives the socket file at `path` its group (when one is set), then its mode
    /// (`socketMode`). Throws `Failure` naming the call that failed.
    public func prepareSocketFile(at path: String) throws {
        if let group { try Self.chown(path, to: group) }
        guard chmod(path, socketMode) == 0 else {
            throw Failure(description: "cannot chmod \(path) to \(String(socketMode, radix: 8)): \(String(cString: strerror(errno)))")
        }
    }

    /// With a group, lets its members reach the socket inside the home folder at
    /// `path`: the folder gets that group and mode 0710 (enter, not list; the
    /// files in it stay the kernel user's). Without a group, leaves it alone.
    /// Throws `Failure` naming the call that failed.
    public func prepareHomeFolder(at path: String) throws {
        guard let group else { return }
        try Self.chown(path, to: group)
        guard chmod(path, 0o710) == 0 else {
            throw Failure(description: "cannot chmod \(path) to 710: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - The user and group databases

    private static func chown(_ path: String, to group: Group) throws {
        guard Glibc.chown(path, uid_t(bitPattern: -1), group.gid) == 0 else {
            throw Failure(description: "cannot give \(path) to group \(group.name): \(String(cString: strerror(errno)))")
        }
    }

    /// The group called `name` (`getgrnam_r(3)`).
    private static func group(named name: String) throws -> Group {
        let (status, gid) = withGrowingBuffer { buffer -> (Int32, gid_t?) in
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            let status = getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result)
            return (status, result == nil ? nil : entry.gr_gid)
        }
        if let gid { return Group(name: name, gid: gid) }
        // glibc reports "not found" as 0, or as ENOENT/ESRCH from some NSS modules.
        guard [0, ENOENT, ESRCH].contains(status) else { throw GroupError.lookupFailed(name: name, errno: status) }
        throw GroupError.unknown(name: name)
    }

    /// The groups the user database gives user `uid`, its primary group
    /// included; none when it has no entry.
    private static func groups(ofUser uid: uid_t) -> [gid_t] {
        withGrowingBuffer { buffer -> (Int32, [gid_t]?) in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let status = getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result)
            guard status == 0, result != nil, let name = entry.pw_name else { return (status, nil) }
            return (0, groupList(user: name, primary: entry.pw_gid))
        }.value ?? []
    }

    /// `getgrouplist(3)`, with a list that grows to the size it reports.
    private static func groupList(user: UnsafePointer<CChar>, primary: gid_t) -> [gid_t] {
        var capacity: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(capacity))
            var count = capacity
            if getgrouplist(user, primary, &groups, &count) >= 0 { return Array(groups.prefix(Int(count))) }
            guard count > capacity else { return [primary] }
            capacity = count
        }
    }

    /// This process's effective group and supplementary groups.
    private static func processGroups() -> [gid_t] {
        let count = max(getgroups(0, nil), 0)
        var groups = [gid_t](repeating: 0, count: Int(count))
        let filled = max(getgroups(count, &groups), 0)
        return [getegid()] + groups.prefix(Int(filled))
    }

    /// Runs a `get*_r(3)` look-up with a scratch buffer, doubled while the call
    /// answers ERANGE (up to 1 MiB). `call` must copy out what it needs.
    private static func withGrowingBuffer<Value>(
        _ call: (UnsafeMutableBufferPointer<CChar>) -> (status: Int32, value: Value?)
    ) -> (status: Int32, value: Value?) {
        var size = 1024
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let outcome = buffer.withUnsafeMutableBufferPointer { call($0) }
            guard outcome.status == ERANGE, size < 1 << 20 else { return outcome }
            size *= 2
        }
    }
}
