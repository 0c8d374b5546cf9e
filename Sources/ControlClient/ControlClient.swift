import AsyncHTTPClient
import ControlAPI
import Foundation
import NIOCore
import NIOHTTP1
import StrictJSON

/// The control API's client: HTTP/1.1 with JSON over the kernel's Unix socket.
///
/// Stateless and `Sendable`; it uses one AsyncHTTPClient client for the whole
/// process, which lives as long as the process and needs no shutdown.
public struct ControlClient: Sendable {
    public let home: AgentOSHome

    /// No read timeout (each call's deadline bounds it: an answer may take
    /// minutes), and room for many requests at once (eval, top, tests).
    private static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(home: AgentOSHome = .fromEnvironment()) {
        self.home = home
    }

    public func version() async throws -> VersionInfo {
        try await request(.GET, "/v1/version")
    }

    public func status() async throws -> KernelStatus {
        try await request(.GET, "/v1/status")
    }

    /// `ps`: the live instances, with `all` the stopped and failed ones too, by id.
    public func instances(all: Bool = false) async throws -> [InstanceRow] {
        let body = try await okBody(execute(.GET, "/v1/instances" + (all ? "?all=1" : ""), body: nil, deadline: 30))
        do {
            let json = try body.withUnsafeReadableBytes { try JSONParser.parse($0.assumingMemoryBound(to: UInt8.self)) }
            return try InstanceList(json: json).instances
        } catch {
            throw ControlClientError.transport("kernel sent an unreadable InstanceList: \(error)")
        }
    }

    public func instance(_ name: String) async throws -> InstanceInfo {
        try await request(.GET, "/v1/instances/\(escaped(name))")
    }

    public func load(_ load: LoadRequest) async throws -> InstanceInfo {
        try await request(.POST, "/v1/instances", body: load)
    }

    /// Unloads `name`, waiting up to `timeout` seconds for its handler to finish.
    /// Unloads `name`; with `force`, retires it as a zombie when it will not stop (see `agentctl unload --force`).
    public func unload(_ name: String, timeout: Double? = nil, force: Bool = false) async throws -> InstanceInfo {
        var query = timeout.map { ["timeout_ms=\(Int(($0 * 1000).rounded()))"] } ?? []
        if force { query.append("force=1") }
        let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
        return try await request(.DELETE, "/v1/instances/\(escaped(name))\(suffix)", deadline: (timeout ?? 10) + 30)
    }

    /// Reloads `name` from `path` (its own file when nil), waiting up to
    /// `timeout` seconds for the old instance's running handler (see `agentctl reload`).
    public func reload(_ name: String, path: String? = nil, timeout: Double? = nil) async throws -> InstanceInfo {
        let body = ReloadRequest(path: path, timeoutMs: timeout.map { Int(($0 * 1000).rounded()) })
        return try await request(.POST, "/v1/instances/\(escaped(name))/reload", body: body, deadline: (timeout ?? 10) + 60)
    }

    public func send(_ name: String, _ message: SendRequest) async throws -> SendResponse {
        let wait = message.wait ? Double(message.timeoutMs == 0 ? 30_000 : message.timeoutMs) / 1000 : 0
        return try await request(.POST, "/v1/instances/\(escaped(name))/messages", body: message, deadline: wait + 30)
    }

    /// The last `tail` lines of `name`'s log (all kept lines when nil); with
    /// `follow`, then every new line until the instance is unloaded.
    public func logs(_ name: String, tail: Int? = nil, since seconds: Int? = nil, follow: Bool = false) -> AsyncThrowingStream<LogEntry, Error> {
        var query = ["follow=\(follow ? 1 : 0)"]
        if let tail { query.append("tail=\(tail)") }
        if let seconds { query.append("since=\(seconds)") }
        let path = "/v1/instances/\(escaped(name))/logs?" + query.joined(separator: "&")
        return jsonLines(.GET, path, deadline: follow ? nil : 30)
    }

    /// Runs an inference request and waits for the whole result.
    public func infer(_ request: InferRequest) async throws -> InferResult {
        var request = request
        request.stream = false
        return try await self.request(.POST, "/v1/infer", body: request, deadline: 3600)
    }

    /// Runs an inference request, streaming: `started`, then pieces, then the
    /// result or an error. Ending the stream early (cancelling its task) closes
    /// the connection, which cancels the request in the kernel.
    public func inferStream(_ request: InferRequest) -> AsyncThrowingStream<InferStreamEvent, Error> {
        var request = request
        request.stream = true
        let body = request
        return jsonLines(.POST, "/v1/infer", body: { try ControlJSON.encoder().encode(body) }, deadline: nil)
    }

    /// Cancels an unfinished inference request.
    public func cancelInference(_ id: UInt64) async throws {
        let response = try await execute(.DELETE, "/v1/infer/\(id)", body: nil, deadline: 30)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else { throw apiError(status: response.status, body: body) }
    }

    /// The loaded tools matching `pattern` (all when nil), by name.
    public func tools(matching pattern: String? = nil) async throws -> [ToolInfo] {
        let query = pattern.map { "?match=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return try await request(.GET, "/v1/tools" + query)
    }

    /// Calls tool `name` with `arguments` (JSON text of an object).
    public func callTool(_ name: String, arguments: String?, timeoutMs: UInt32? = nil) async throws -> CallToolResult {
        let wait = Double(timeoutMs ?? 30_000) / 1000 + 30
        return try await request(
            .POST, "/v1/tools/\(escaped(name))/call", body: CallToolRequest(arguments: arguments, timeoutMs: timeoutMs),
            deadline: wait)
    }

    /// The timeline of inference request `id`.
    public func trace(_ id: UInt64) async throws -> RequestTraceInfo {
        try await request(.GET, "/v1/requests/\(id)/trace")
    }

    /// The cluster as the kernel sees it: its node, the link, every node's agents.
    public func cluster() async throws -> ClusterInfo {
        try await request(.GET, "/v1/cluster/nodes")
    }

    /// The inference engine and its load.
    public func engine() async throws -> EngineStatus {
        try await request(.GET, "/v1/engine")
    }

    /// Rates the answer to a `send --wait` request; rating it again replaces the rating.
    public func rate(_ feedback: FeedbackRequest) async throws -> FeedbackEntry {
        try await request(.POST, "/v1/feedback", body: feedback)
    }

    /// Ratings per agent: only `agent`'s when given, only the last `seconds` when given.
    public func feedbackStats(agent: String? = nil, since seconds: Int? = nil) async throws -> FeedbackStats {
        var query: [String] = []
        if let agent { query.append("agent=" + (agent.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? agent)) }
        if let seconds { query.append("since=\(seconds)") }
        return try await request(.GET, "/v1/feedback/stats" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
    }

    /// Every rated answer (only `agent`'s when given), oldest first, as the kernel streams them.
    public func feedbackExport(agent: String? = nil) -> AsyncThrowingStream<FeedbackEntry, Error> {
        let query = agent.map { "?agent=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return jsonLines(.GET, "/v1/feedback/export" + query, deadline: 3600)
    }

    /// Sends one request and returns the raw status and body: for tests and tools.
    public func raw(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        let response = try await execute(method, path, body: body.map { ByteBuffer(bytes: $0) }, deadline: 30)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), Data(bytes.readableBytesView))
    }

    // MARK: - Plumbing

    /// A request whose answer is JSON Lines, one `Element` per line, as they
    /// arrive. Ending the stream early closes the connection.
    private func jsonLines<Element: Decodable & Sendable>(
        _ method: HTTPMethod, _ path: String, body: (@Sendable () throws -> Data)? = nil, deadline: Double?
    ) -> AsyncThrowingStream<Element, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await execute(method, path, body: try body.map { ByteBuffer(bytes: try $0()) }, deadline: deadline)
                    guard response.status == .ok else {
                        throw apiError(status: response.status, body: try await response.body.collect(upTo: 1 << 20))
                    }
                    var pending = ByteBuffer()
                    for try await var chunk in response.body {
                        pending.writeBuffer(&chunk)
                        while let line = pending.readLine() {
                            continuation.yield(try ControlJSON.decoder().decode(Element.self, from: Data(line.readableBytesView)))
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: mapped(error))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func request<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, deadline: Double = 30
    ) async throws -> Response {
        try await decode(execute(method, path, body: nil, deadline: deadline))
    }

    private func request<Body: Encodable, Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: Body, deadline: Double = 30
    ) async throws -> Response {
        let data = try ControlJSON.encoder().encode(body)
        return try await decode(execute(method, path, body: ByteBuffer(bytes: data), deadline: deadline))
    }

    private func execute(_ method: HTTPMethod, _ path: String, body: ByteBuffer?, deadline: Double?) async throws -> HTTPClientResponse {
        // AsyncHTTPClient retries a failed connect until the deadline; a kernel
        // that is not running should be reported at once.
        switch Self.connectFailure(home.socketPath) {
        case nil: break
        case EACCES?, EPERM?:
            throw ControlClientError.transport(
                "permission denied on the kernel's control socket \(home.displaySocketPath) "
                    + "(only the kernel's user and root may use it, or a group named with agentosd --socket-group)")
        default: throw ControlClientError.kernelNotRunning(socketPath: home.displaySocketPath)
        }
        guard let url = URL(httpURLWithSocketPath: home.socketPath, uri: path) else {
            throw ControlClientError.transport("cannot build a URL for socket \(home.socketPath)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        do {
            return try await Self.http.execute(request, timeout: .seconds(Int64(deadline ?? 365 * 86_400)))
        } catch {
            throw mapped(error)
        }
    }

    private func decode<Response: Decodable>(_ response: HTTPClientResponse) async throws -> Response {
        let body = try await okBody(response)
        do {
            return try ControlJSON.decoder().decode(Response.self, from: Data(body.readableBytesView))
        } catch {
            throw ControlClientError.transport("kernel sent an unreadable \(Response.self): \(error)")
        }
    }

    /// The body of a 2xx response; any other status throws the kernel's error.
    private func okBody(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        let body = try await response.body.collect(upTo: 64 << 20)
        guard (200..<300).contains(response.status.code) else { throw apiError(status: response.status, body: body) }
        return body
    }

    private func apiError(status: HTTPResponseStatus, body: ByteBuffer) -> ControlClientError {
        if let error = try? ControlJSON.decoder().decode(ErrorBody.self, from: Data(body.readableBytesView)) {
            return .api(status: Int(status.code), code: error.error.code, message: error.error.message)
        }
        return .api(status: Int(status.code), code: "http_\(status.code)", message: "kernel answered \(status)")
    }

    private func mapped(_ error: Error) -> Error {
        if error is ControlClientError { return error }
        if let io = error as? IOError, [ENOENT, ECONNREFUSED, ENOTSOCK].contains(io.errnoCode) {
            return ControlClientError.kernelNotRunning(socketPath: home.displaySocketPath)
        }
        let text = String(describing: error)
        if text.contains("connection refused") || text.contains("No such file") || text.contains("connectTimeout") {
            return ControlClientError.kernelNotRunning(socketPath: home.displaySocketPath)
        }
        if let http = error as? HTTPClientError, http == .deadlineExceeded {
            return ControlClientError.transport("kernel did not answer in time (\(home.displaySocketPath))")
        }
        return ControlClientError.transport("cannot talk to the kernel at \(home.displaySocketPath): \(error)")
    }

    /// Connects to the Unix socket at `path` and hangs up: nil when something
    /// accepted (or the probe could not be made), else the failed connect's errno.
    private static func connectFailure(_ path: String) -> Int32? {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }  // let the real request report the problem
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0 ? nil : errno
    }

    private func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}

extension ByteBuffer {
    /// Reads one `\n`-terminated line (without the newline), or nil when none is complete.
    fileprivate mutating func readLine() -> ByteBuffer? {
        guard let newline = readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = readSlice(length: newline - readerIndex)
        moveReaderIndex(forwardBy: 1)
        return line
    }
}
