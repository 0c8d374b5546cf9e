import Foundation
import KernelCore
import Logging
import MCP
import StrictJSON
import Synchronization

/// One run of an external MCP server: its process (stdin and stdout are the
/// MCP channel, stderr goes to its log file) and swift-sdk's `Client` on them.
/// Ends when the process exits; `MCPServer` then starts another.
/// Thread-safe: the client is an actor; `exit` is only touched inside its lock.
final class MCPSession: Sendable {
    let client: Client
    private let process: Mutex<Process?>
    private let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    private init(client: Client, process: Process) {
        self.client = client
        self.process = Mutex(process)
    }

    /// The server's process id (0 before it started).
    var pid: Int32 { process.withLock { $0?.processIdentifier ?? 0 } }

    /// The process's exit status, once it exited.
    var exitStatus: Int32? { exit.withLock { $0.status } }

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
        let client = session.client
        // A server that never answers is killed at the timeout, which ends the wait.
        let connected = await withTimeout(timeout, onTimeout: { session.terminate() }) { () async -> Result<Void, Error> in
            do {
                try await client.connect(transport: transport)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        switch connected {
        case .success(.success): return session
        case .success(.failure(let error)):
            session.terminate()
            if let status = session.exitStatus {
                throw KernelError(.unreachable, "\(command[0]) exited with status \(status) before answering MCP's initialize (its stderr is in \(log))")
            }
            throw KernelError(.unreachable, "\(command[0]) did not complete MCP's initialize: \(Self.describe(error))")
        case .failure:
            session.terminate()
            throw KernelError(.unreachable, "\(command[0]) did not answer MCP's initialize within \(timeout); it was stopped")
        }
    }

    /// Waits for the process to exit; returns its status.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = exit.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Ends the process: SIGTERM, then SIGKILL after 2 s.
    func terminate() {
        let running = process.withLock { $0?.isRunning == true }
        let pid = pid
        guard running, pid > 0 else { return }  // never kill(0, …): that is the kernel's own process group
        kill(pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { [weak self] in
            if self?.exit.withLock({ $0.status }) == nil { kill(pid, SIGKILL) }
        }
    }

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

    private func exited(_ status: Int32) {
        let waiters = exit.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
        // Fails the calls still waiting for an answer.
        let client = client
        Task { await client.disconnect() }
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
        return "\(error)"
    }
}

/// Runs `work`; after `timeout`, calls `onTimeout`, which must make `work` end
/// (a task group waits for it), and answers `.failure`.
func withTimeout<T: Sendable>(
    _ timeout: Duration, onTimeout: @escaping @Sendable () -> Void, _ work: @escaping @Sendable () async -> T
) async -> Result<T, TimeoutError> {
    await withTaskGroup(of: Result<T, TimeoutError>?.self) { group in
        group.addTask { .success(await work()) }
        group.addTask {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return nil }
            onTimeout()
            return .failure(TimeoutError())
        }
        defer { group.cancelAll() }
        while let next = await group.next() {
            if let next { return next }
        }
        return .failure(TimeoutError())
    }
}

struct TimeoutError: Error {}
