import Glibc
import NIOCore

/// Who is on the other end of a Unix socket connection: the process id, user id
/// and group id the OS recorded when that process connected (`SO_PEERCRED`).
///
/// The OS, not the peer, vouches for them: a client cannot claim another user.
/// They are the peer's effective ids at `connect(2)`; supplementary groups are not
/// part of them (`SocketAccess` looks those up by user id).
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: pid_t
    public var uid: uid_t
    public var gid: gid_t

    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// `uid 1000 gid 1000 pid 4242`, for logs.
    public var description: String { "uid \(uid) gid \(gid) pid \(pid)" }

    /// The credentials of the process at the other end of `channel`, a connected
    /// Unix stream socket.
    ///
    /// Fails with `PeerCredentials.Unavailable` when `channel` does not expose its
    /// socket options (it is not a socket NIOPosix made), or with NIO's `IOError`
    /// when `getsockopt(2)` fails (e.g. the socket is not a Unix socket).
    /// Thread: any; on `channel.eventLoop` the future is complete when it returns.
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(Unavailable())
        }
        let raw: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        return raw.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
    }

    /// The channel gives no access to its socket's options.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "the connection does not expose its socket, so its peer's credentials cannot be read" }
    }
}

/// Linux's `struct ucred` (`<sys/socket.h>`), which Swift's Glibc module does not
/// import (it needs `_GNU_SOURCE`): three 32-bit fields, in this order.
private struct UCred: Sendable {
    var pid: pid_t
    var uid: uid_t
    var gid: gid_t
}
