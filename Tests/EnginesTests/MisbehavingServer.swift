import Foundation
import Synchronization

/// A loopback HTTP server with scripted replies, standing in for an inference
/// server that fails: the n-th connection gets the n-th reply (the last one
/// repeats), after its request was read whole. Records each request.
final class MisbehavingServer: Sendable {
    enum Reply: Sendable {
        /// These bytes, then the connection closes.
        case send(String)
        /// These bytes, then nothing until the client hangs up: a stalled server.
        case stall(String)
    }

    /// One request as received: the head (request line and headers) and the body.
    struct Request: Sendable {
        let head: String
        let body: Data
    }

    let port: UInt16
    private let listener: Int32
    private let state: Mutex<(replies: [Reply], requests: [Request])>

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    var requests: [Request] { state.withLock { $0.requests } }

    init(_ replies: [Reply]) throws {
        precondition(!replies.isEmpty)
        (listener, port) = try Self.listen()
        state = Mutex((replies, []))
        Thread { [weak self, listener] in
            while case let connection = accept(listener, nil, nil), connection >= 0 {
                guard let self else {
                    close(connection)
                    return
                }
                Thread { self.serve(connection) }.start()
            }
        }.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))  // wakes `accept`
        close(listener)
    }

    /// A loopback port nothing listens on.
    static func unusedPort() throws -> UInt16 {
        let (socket, port) = try listen()
        close(socket)
        return port
    }

    /// A 200 `text/event-stream` reply carrying `events` as `data:` events (a `:` line goes as a comment), lines ended by `lineEnd`.
    static func eventStream(_ events: [String], lineEnd: String = "\n") -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            + events.map { $0.hasPrefix(":") ? "\($0)\(lineEnd)" : "data: \($0)\(lineEnd)\(lineEnd)" }.joined()
    }

    /// A reply with `status` and `body`.
    static func reply(_ status: String, body: String, type: String = "application/json") -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)  // a backstop: no test holds a connection this long
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = Self.readRequest(connection) else { return }
        let reply = state.withLock { state in
            state.requests.append(request)
            return state.replies.count > 1 ? state.replies.removeFirst() : state.replies[0]
        }
        switch reply {
        case .send(let text):
            Self.write(text, to: connection)
        case .stall(let text):
            Self.write(text, to: connection)
            var byte: UInt8 = 0
            while read(connection, &byte, 1) > 0 {}  // until the client closes
        }
    }

    /// Reads the head up to the blank line, then `Content-Length` bytes of body.
    private static func readRequest(_ connection: Int32) -> Request? {
        var bytes = Data()
        var buffer = [UInt8](repeating: 0, count: 16384)
        var headEnd: Range<Data.Index>?
        var bodyLength = 0
        while headEnd == nil || bytes.count < headEnd!.upperBound + bodyLength {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return nil }
            bytes.append(contentsOf: buffer[..<count])
            if headEnd == nil, let end = bytes.range(of: Data("\r\n\r\n".utf8)) {
                headEnd = end
                let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                bodyLength = length.flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            }
        }
        return Request(
            head: String(decoding: bytes[..<headEnd!.lowerBound], as: UTF8.self),
            body: bytes[headEnd!.upperBound...])
    }

    private static func write(_ text: String, to connection: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// A socket listening on a free loopback port.
    private static func listen() throws -> (Int32, UInt16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && Glibc.listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard listener >= 0, bound else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        return (listener, UInt16(bigEndian: address.sin_port))
    }
}
