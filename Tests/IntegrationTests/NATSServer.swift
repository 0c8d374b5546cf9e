import Foundation
import Glibc
import Testing

/// A real `nats-server` (Debian's, installed by `make nats`) on a free loopback
/// port, for one test; `stop()` and `start()` take it down and up on the same port.
final class NATSServer: @unchecked Sendable {
    let port: Int
    let root: String
    private var process: Process?

    var url: String { "nats://127.0.0.1:\(port)" }

    /// `config`: more of nats-server's configuration (e.g. an `authorization` block).
    init(config: String = "") throws {
        port = Self.freePort()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-nats-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // 8 MiB frames: the oversize tests need room above the kernels' 1 MiB default.
        try "listen: 127.0.0.1:\(port)\nmax_payload: 8388608\n\(config)\n".write(toFile: root + "/nats.conf", atomically: true, encoding: .utf8)
        try start()
    }

    /// Starts the server and waits until it accepts connections.
    func start() throws {
        let path = ["/usr/bin/nats-server", "/usr/sbin/nats-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            Issue.record("nats-server is not installed: run `make nats` (scripts/setup-nats.sh)")
            throw CancellationError()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-c", root + "/nats.conf"]
        let log = FileHandle(forWritingAtPath: root + "/nats.log") ?? {
            FileManager.default.createFile(atPath: root + "/nats.log", contents: nil)
            return FileHandle(forWritingAtPath: root + "/nats.log")!
        }()
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if Self.accepts(port) { return }
            usleep(25_000)
        }
        Issue.record("nats-server did not start on port \(port)")
        throw CancellationError()
    }

    /// Stops the server (SIGTERM) and waits until it is gone.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Publishes `payload` on `subject` as a bare NATS client (the text
    /// protocol over TCP), for frames no kernel would send.
    func publishRaw(_ subject: String, _ payload: [UInt8]) throws {
        let fd = try Self.connect(port)
        defer { close(fd) }
        var bytes = Array("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPUB \(subject) \(payload.count)\r\n".utf8)
        bytes += payload
        bytes += Array("\r\nPING\r\n".utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // PONG comes after the server has taken the PUB.
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: answer, as: UTF8.self).contains("PONG") {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            answer += buffer[0..<n]
        }
    }

    private static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    private static func accepts(_ port: Int) -> Bool {
        guard let fd = try? connect(port) else { return false }
        close(fd)
        return true
    }

    /// A loopback port nothing listens on now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A cluster frame built by hand (the layout of `ClusterFrame`), for frames
/// from a misbehaving peer.
func clusterFrame(kind: UInt8, status: Int32 = 0, id: UInt64, from: String, to: String, body: [UInt8] = []) -> [UInt8] {
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    return Array("AOSC".utf8) + [1, kind] + le32(UInt32(bitPattern: status)) + le32(UInt32(truncatingIfNeeded: id))
        + le32(UInt32(truncatingIfNeeded: id >> 32)) + le32(0) + [UInt8(from.utf8.count), UInt8(to.utf8.count)]
        + le32(UInt32(body.count)) + Array(from.utf8) + Array(to.utf8) + body
}
