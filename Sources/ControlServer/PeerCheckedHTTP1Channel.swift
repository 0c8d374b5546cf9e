import ControlAPI
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

extension HTTPServerBuilder {
    /// HTTP/1.1 as `.http1(configuration:)` serves it, for a Unix socket whose
    /// peers are checked: each accepted connection's credentials (`SO_PEERCRED`)
    /// are read once and judged by `access`, before any request is read.
    ///
    /// A refused peer is reported to `onRefusedPeer` and then answered, request
    /// after request, with `403 Forbidden` and the control API's JSON error
    /// (`permission_denied`, `SocketAccess.refusal(of:)`) with `Connection: close`;
    /// none of its requests reaches the router. A connection whose credentials
    /// cannot be read is closed without an answer.
    ///
    /// `onRefusedPeer` runs on the connection's event loop thread, once per refused
    /// connection: it must not block.
    public static func peerCheckedHTTP1(
        configuration: HTTP1Channel.Configuration = .init(),
        access: SocketAccess,
        onRefusedPeer: @escaping @Sendable (PeerCredentials) -> Void
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            PeerCheckedHTTP1Channel(
                http1: HTTP1Channel(responder: responder, configuration: configuration), access: access, onRefusedPeer: onRefusedPeer)
        }
    }
}

/// Hummingbird's `HTTP1Channel` behind a check of the peer's credentials, made
/// in `setup` (once per connection, off the request path).
struct PeerCheckedHTTP1Channel: ServerChildChannel {
    /// The set-up connection, and whether its peer was admitted.
    enum Value: ServerChildChannelValue {
        case admitted(HTTP1Channel.Value)
        /// Every request is answered with this 403 response.
        case refused(HTTP1Channel.Value, Response)

        var channel: any Channel {
            switch self {
            case .admitted(let connection), .refused(let connection, _): connection.channel
            }
        }
    }

    /// The error code of the 403 a refused peer gets.
    static let errorCode = "permission_denied"

    let http1: HTTP1Channel
    let access: SocketAccess
    let onRefusedPeer: @Sendable (PeerCredentials) -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        PeerCredentials.read(from: channel)
            .flatMapErrorThrowing { error in
                logger.error("closing a control socket connection whose peer cannot be identified", metadata: ["error": "\(error)"])
                throw error
            }
            .flatMap { peer in
                let refusal = access.admits(peer) ? nil : Self.refusal(access.refusal(of: peer))
                if refusal != nil { onRefusedPeer(peer) }
                return http1.setup(channel: channel, logger: logger).map { connection in
                    refusal.map { .refused(connection, $0) } ?? .admitted(connection)
                }
            }
    }

    func handle(value: Value, logger: Logger) async {
        switch value {
        case .admitted(let connection):
            await http1.handle(value: connection, logger: logger)
        case .refused(let connection, let response):
            let refusing = HTTP1Channel(
                responder: { _, writer, _ in try await writer.write(response: response.head, body: response.body) },
                configuration: http1.configuration)
            await refusing.handle(value: connection, logger: logger)
        }
    }

    /// `403 Forbidden`, `{"error":{"code":"permission_denied","message":…}}`, and a
    /// request to close the connection.
    private static func refusal(_ message: String) -> Response {
        var response = JSONResponse.error(.forbidden, code: errorCode, message: message)
        response.headers[.contentLength] = response.body.contentLength.map { "\($0)" }
        response.headers[.connection] = "close"
        return response
    }
}
