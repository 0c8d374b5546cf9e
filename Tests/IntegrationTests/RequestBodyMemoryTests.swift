import Foundation
import Testing

/// Oversize request bodies are refused without holding memory: one declared
/// too long is never read, and the memory of a burst read up to the limit goes
/// back to the system (`LargeAllocations`).
@Suite struct RequestBodyMemoryTests {
    static let request = "POST /v1/instances/echo/messages HTTP/1.1\r\nHost: agentosd\r\nContent-Type: application/json\r\n"

    @Test func bodyDeclaredPastTheLimitIsRefusedUnread() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let socket = try RawUnixSocket(path: kernel.home.socketPath)
        try socket.send(Self.request + "Content-Length: 100000000\r\n\r\n")
        let answer = String(decoding: await onThread { socket.readAll(timeout: 10, until: "\r\n\r\n") }, as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
        try await kernel.expectHealthy()
    }

    /// 40 concurrent chunked bodies of 7 MB, each read up to the limit (about
    /// 6 MB) and refused: before the fix, about 200 MB stayed resident after them.
    @Test func memoryOfRefusedBodiesIsReturned() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let socketPath = kernel.home.socketPath
        #expect(await onThread { Self.sendOversizeChunked(to: socketPath) })
        let baseline = try #require(Self.residentBytes(of: kernel.process.processIdentifier))
        let refused = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 { group.addTask { await onThread { Self.sendOversizeChunked(to: socketPath) } } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(refused == 40)
        var resident = baseline
        let returned = try await kernel.eventually {
            resident = Self.residentBytes(of: kernel.process.processIdentifier) ?? .max
            return resident <= baseline + 32 << 20
        }
        #expect(returned, "resident \(resident >> 20) MiB after the bodies, \(baseline >> 20) MiB before")
        try await kernel.expectHealthy()
    }

    /// Sends a 7 MB chunked message body until the kernel answers; true if the answer is 413.
    static func sendOversizeChunked(to socketPath: String) -> Bool {
        guard let socket = try? RawUnixSocket(path: socketPath) else { return false }
        let chunk = String(repeating: "a", count: 64 << 10)
        do {
            try socket.send(request + "Transfer-Encoding: chunked\r\n\r\n" + "10000\r\n" + #"{"text":""# + chunk.dropFirst(9) + "\r\n")
            for _ in 1..<112 { try socket.send("10000\r\n" + chunk + "\r\n") }
            try socket.send("0\r\n\r\n")
        } catch {
            // The kernel answered and closed before the end of the body: read its answer.
        }
        let answer = socket.readAll(timeout: 10, until: "\r\n\r\n")
        return answer.starts(with: Data("HTTP/1.1 413".utf8))
    }

    /// VmRSS of process `pid`, in bytes.
    static func residentBytes(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes << 10
    }
}
