import Foundation

/// A loopback HTTP server that answers every request with the same bytes,
/// then optionally keeps the connection open without sending more: a
/// misbehaving inference server for the OpenAI engine's tests.
final class CannedHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32

    /// Listens on a free loopback port; each connection gets `response`, then
    /// is held open for `holdSeconds` (a stall) before it is closed.
    init(response: String, holdSeconds: Double = 0) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        let bytes = Array(response.utf8)
        Thread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                Thread {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    _ = read(connection, &buffer, buffer.count)  // the request; its content does not matter
                    _ = bytes.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                    if holdSeconds > 0 { usleep(useconds_t(holdSeconds * 1_000_000)) }
                    close(connection)
                }.start()
            }
        }.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Whether `GET path` on the loopback `port` answers 200 (one plain HTTP/1.0 exchange).
    static func answersOK(port: UInt16, path: String) -> Bool {
        let connection = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard connection >= 0 else { return false }
        defer { close(connection) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(connection, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ write(connection, $0.baseAddress, $0.count) }) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(connection, &buffer, buffer.count)
        return count > 12 && String(decoding: buffer[..<count], as: UTF8.self).hasPrefix("HTTP/1.1 200")
    }

    /// A loopback port nothing listens on (the OS just handed it out and it was closed).
    static func freePort() throws -> UInt16 { try CannedHTTPServer(response: "").port }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
