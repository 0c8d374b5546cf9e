import Foundation
import KernelCore
import Logging
import MCP
import Synchronization

/// One MCP session with a server: swift-sdk's `Client` on the stdin and stdout
/// of a process the kernel started (`start`; its stderr goes to a log file),
/// or on a Streamable HTTP endpoint (`connect`). It ends once, with a reason:
/// the process exited, an HTTP exchange failed, or `end` was called (a hung
/// server, a removal, the kernel stopping). Ending fails the calls still
/// waiting and stops a process: its stdin is closed, SIGTERM follows after
/// 2 s, SIGKILL 2 s later. `MCPServer` then opens another session.
///
/// Thread-safe: the client is an actor; `state` is only touched inside its lock.
final class MCPSession: Sendable {
    let client: Client
    /// A stdio server's process; nil for a URL server.
    private let process: Mutex<Process?>
    private let state = Mutex(State())

    private struct State {
        var endReason: String?
        var exitStatus: Int32?
        var waiters: [CheckedContinuation<String, Never>] = []
        /// The shutdown `end` began; done once the process is gone.
        var shutdown: Task<Void, Never>?
    }

    private init(client: Client, process: Process?) {
        self.client = client
        self.process = Mutex(process)
    }

    /// A stdio server's process id; nil for a URL server.
    var pid: Int32? { process.withLock { $0?.processIdentifier } }

    /// The process's exit status, once it exited.
    var exitStatus: Int32? { state.withLock { $0.exitStatus } }

    /// Why the session ended, once it did.
    var endReason: String? { state.withLock { $0.endReason } }

    /// Starts `command` and opens an MCP session with it within `timeout`.
    /// Throws a `KernelError(.unreachable)` saying why it did not start.
    static func start(_ command: [String], log: String, timeout: Duration, logger: Logger) async throws(KernelError) -> MCPSession {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable(command[0]))
        process.arguments = Array(command.dropFirst())
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log).map { handle in
            handle.seekToEndOfFile()
            return handle
        } ?? FileHandle.nullDevice
        let transport = PipeTransport(reading: stdout.fileHandleForReading, writing: stdin.fileHandleForWriting, logger: logger)
        let session = MCPSession(client: Client(name: "agentos", version: "1"), process: process)
        process.terminationHandler = { process in session.exited(process.terminationStatus) }
        do {
            try process.run()
        } catch {
            throw KernelError(.unreachable, "cannot start \(command[0]): \(error.localizedDescription)")
        }
        // The parent's copies of the child's ends: closed, so EOF is seen when the child exits.
        try? stdin.fileHandleForReading.close()
        try? stdout.fileHandleForWriting.close()
        if let failure = await session.open(transport, timeout: timeout) {
            await session.stopped()
            if let status = session.exitStatus, failure == exitReason(status) {
                throw KernelError(.unreachable, "\(command[0]) exited with status \(status) before answering MCP's initialize (its stderr is in \(log))")
            }
            throw KernelError(.unreachable, "\(command[0]) \(failure)")
        }
        return session
    }

    /// Opens an MCP session with the Streamable HTTP server at `url` within `timeout`,
    /// sending `headers` with every request. Throws a `KernelError(.unreachable)` saying why not.
    static func connect(_ url: URL, headers: [String: String], timeout: Duration, logger: Logger) async throws(KernelError) -> MCPSession {
        let session = MCPSession(client: Client(name: "agentos", version: "1"), process: nil)
        let transport = HTTPTransport(endpoint: url, headers: headers, logger: logger) { failure in
            session.end("lost its connection (\(failure))")
        }
        if let failure = await session.open(transport, timeout: timeout) {
            await session.stopped()
            throw KernelError(.unreachable, "cannot reach \(url.absoluteString): \(await transport.failure ?? failure)")
        }
        return session
    }

    /// Connects the client on `transport` (MCP's initialize); nil when done within
    /// `timeout`, else why not (the session is then ended).
    private func open(_ transport: any Transport, timeout: Duration) async -> String? {
        let client = client
        let connected = await withTimeout(timeout, onTimeout: { self.end("did not answer MCP's initialize within \(timeout)") }) {
            () async -> Result<Initialize.Result, Error> in
            do {
                return .success(try await client.connect(transport: transport))
            } catch {
                return .failure(error)
            }
        }
        switch connected {
        case .success(.success(let result)):
            if let http = transport as? HTTPTransport { await http.negotiated(result.protocolVersion) }
            return nil
        case .success(.failure(let error)):
            let failure = endReason ?? "did not complete MCP's initialize: \(Self.describe(error))"
            end(failure)
            return failure
        case .failure:
            return endReason ?? "did not answer MCP's initialize within \(timeout)"
        }
    }

    /// Ends the session for `reason` (the first reason given is kept): the calls
    /// still waiting fail, and a process is stopped. Returns at once; `stopped` waits.
    func end(_ reason: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<String, Never>] in
            guard state.endReason == nil else { return [] }
            state.endReason = reason
            state.shutdown = Task { await self.shutDown() }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: reason) }
    }

    /// Waits until the session ended; returns why.
    func waitForEnd() async -> String {
        await withCheckedContinuation { continuation in
            let reason = state.withLock { state -> String? in
                if let reason = state.endReason { return reason }
                state.waiters.append(continuation)
                return nil
            }
            if let reason { continuation.resume(returning: reason) }
        }
    }

    /// Waits until an ended session's shutdown is done (its process is gone).
    func stopped() async {
        await state.withLock { $0.shutdown }?.value
    }

    /// Disconnects the client (which closes a process's stdin) and stops the process.
    /// The stop does not wait for the disconnect: a server that does not read its
    /// stdin can block a write, which its death then ends.
    private func shutDown() async {
        let client = client
        let disconnecting = Task { await client.disconnect() }
        if let pid, pid > 0 {  // never kill(0, …): that is the kernel's own process group
            for signal in [SIGTERM, SIGKILL] where !(await exits(within: .seconds(2))) {
                kill(pid, signal)
            }
            _ = await exits(within: .seconds(5))
        }
        await disconnecting.value
    }

    /// Whether the process exits within `bound` (polled; it is a rare path).
    private func exits(within bound: Duration) async -> Bool {
        let deadline = ContinuousClock.now + bound
        while exitStatus == nil && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return exitStatus != nil
    }

    private func exited(_ status: Int32) {
        state.withLock { $0.exitStatus = status }
        end(Self.exitReason(status))
    }

    private static func exitReason(_ status: Int32) -> String { "exited with status \(status)" }

    /// The server's own tools (all pages of `tools/list`).
    func listTools() async throws -> [Tool] {
        var tools: [Tool] = []
        var cursor: String?
        repeat {
            let page = try await client.listTools(cursor: cursor)
            tools += page.tools
            cursor = page.nextCursor
        } while cursor != nil && tools.count < 10_000
        return tools
    }

    /// Whether the server answers a ping within `bound`; when it does not, the session is ended for `reason`.
    func answersPing(within bound: Duration, else reason: String) async -> Bool {
        let client = client
        let answered = await withTimeout(bound, onTimeout: { self.end(reason) }) { _ = try? await client.ping() }
        return answered.isSuccess && endReason == nil
    }

    /// `name` itself when it has a slash, else its path on $PATH.
    private static func executable(_ name: String) throws(KernelError) -> String {
        if name.contains("/") { return name }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw KernelError(.unreachable, "cannot start \(name): not found on PATH")
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? MCPError { return error.errorDescription ?? "\(error)" }
        if let error = error as? URLError { return error.localizedDescription }
        return "\(error)"
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
