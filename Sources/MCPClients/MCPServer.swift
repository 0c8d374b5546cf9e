import ControlAPI
import Dispatch
import Foundation
import KernelCore
import Logging
import MCP
import StrictJSON
import Synchronization

/// One registered external MCP server, supervised: it is started, its tools
/// are offered as kernel tools `NAME.TOOL` (`ToolService.registerExternal`),
/// and when its process exits it is started again after a backoff (1 s,
/// doubling to 30 s; back to 1 s after a run of 30 s or more). While it is
/// down its tools stay listed and calls fail with `.unreachable`.
///
/// Thread-safe: `state` is only touched inside its lock; `call` blocks the
/// calling thread (ToolService runs calls off the Swift concurrency pool).
final class MCPServer: ExternalToolProvider, Sendable {
    let name: String
    let command: [String]
    private let kernel: Kernel
    private let logPath: String
    private let logger: Logger
    private let state = Mutex(State())
    private let supervisor = Mutex<Task<Void, Never>?>(nil)

    private struct State {
        var session: MCPSession?
        var phase = "starting"
        var tools: [String] = []
        var skipped: [String] = []
        var restarts = 0
        var lastError: String?
        var stopped = false
        /// Resumed once, by the first start's outcome (`start`).
        var firstStart: CheckedContinuation<Result<Void, KernelError>, Never>?
    }

    /// How long a start may take to answer MCP's initialize and tools/list.
    static let startTimeout: Duration = .seconds(15)
    /// How long a call may take when its caller gives no deadline.
    static let defaultCallTimeoutNanos: UInt64 = 30_000_000_000

    init(name: String, command: [String], kernel: Kernel, logPath: String, logger: Logger) {
        self.name = name
        self.command = command
        self.kernel = kernel
        self.logPath = logPath
        self.logger = logger
    }

    /// Starts supervising; returns the first start's outcome (the supervision
    /// goes on either way until `stop`).
    @discardableResult
    func start() async -> Result<Void, KernelError> {
        await withCheckedContinuation { continuation in
            state.withLock { $0.firstStart = continuation }
            let task = Task { await self.supervise() }
            supervisor.withLock { $0 = task }
        }
    }

    /// Stops supervising, ends the process and withdraws the tools.
    func stop() {
        let session = state.withLock { state in
            state.stopped = true
            state.phase = "stopped"
            return state.session
        }
        supervisor.withLock { $0?.cancel() }
        session?.terminate()
        kernel.tools.unregisterExternal(prefix: name)
    }

    var info: MCPServerInfo {
        state.withLock { state in
            MCPServerInfo(
                name: name, command: command, state: state.phase, pid: state.session?.pid, tools: state.tools,
                skipped: state.skipped, restarts: state.restarts, lastError: state.lastError)
        }
    }

    private func supervise() async {
        var backoff: Duration = .seconds(1)
        while !Task.isCancelled {
            let began = ContinuousClock.now
            do throws(KernelError) {
                let session = try await MCPSession.start(command, log: logPath, timeout: Self.startTimeout, logger: logger)
                let offered = try await offer(session)
                let first = state.withLock { state in
                    state.session = session
                    state.phase = "running"
                    state.tools = offered.tools
                    state.skipped = offered.skipped
                    defer { state.firstStart = nil }
                    return state.firstStart
                }
                first?.resume(returning: .success(()))
                logger.info("mcp server started", metadata: ["server": "\(name)", "pid": "\(session.pid)", "tools": "\(offered.tools.count)"])
                let status = await session.waitForExit()
                note(failure: "exited with status \(status)")
            } catch {
                note(failure: error.message)
                let first = state.withLock { state in
                    defer { state.firstStart = nil }
                    return state.firstStart
                }
                if let first {
                    first.resume(returning: .failure(error))
                    return  // a registration that never started is not kept
                }
            }
            if ContinuousClock.now - began >= .seconds(30) { backoff = .seconds(1) }
            guard !state.withLock({ $0.stopped }) else { return }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
            state.withLock { $0.restarts += 1 }
        }
    }

    private func note(failure: String) {
        let session = state.withLock { state in
            defer { state.session = nil }
            if !state.stopped { state.phase = "restarting" }
            state.lastError = failure
            return state.session
        }
        session?.terminate()
        logger.warning("mcp server down", metadata: ["server": "\(name)", "reason": "\(failure)"])
    }

    /// Lists the session's tools and offers those the kernel can express; returns their names and the skipped ones' reasons.
    private func offer(_ session: MCPSession) async throws(KernelError) -> (tools: [String], skipped: [String]) {
        let listed: [Tool]
        do {
            listed = try await session.listTools()
        } catch {
            session.terminate()
            throw KernelError(.unreachable, "\(command[0]) did not answer tools/list: \(MCPSession.describe(error))")
        }
        var tools: [ExternalTool] = []
        var skipped: [String] = []
        for tool in listed {
            switch Self.expressible(tool) {
            case .success(let external): tools.append(external)
            case .failure(let reason): skipped.append("\(tool.name.prefix(64)): \(reason)")
            }
        }
        do {
            try kernel.tools.registerExternal(prefix: name, tools: tools, provider: self)
        } catch {
            session.terminate()
            throw error
        }
        return (tools.map { "\(name).\($0.name)" }, skipped)
    }

    /// The kernel's form of an MCP tool, or why it cannot offer it: a name the
    /// OpenAI function shape does not allow, or an input schema that is not an object schema.
    static func expressible(_ tool: Tool) -> Result<ExternalTool, SkipReason> {
        let allowed = tool.name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard !tool.name.isEmpty, tool.name.utf8.count <= 64, allowed else {
            return .failure(SkipReason("its name is not 1 to 64 of A-Z a-z 0-9 _ -"))
        }
        guard let data = try? JSONEncoder().encode(tool.inputSchema), let schema = try? JSONParser.parse(String(decoding: data, as: UTF8.self)),
              case .object = schema, schema["type"] == .string("object")
        else {
            return .failure(SkipReason("its inputSchema is not a JSON Schema of type object"))
        }
        return .success(ExternalTool(name: tool.name, description: tool.description ?? "", parameters: schema))
    }

    struct SkipReason: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: ExternalToolProvider

    func call(_ tool: String, arguments: String, deadline: UInt64?) -> Result<String, KernelError> {
        guard let session = state.withLock({ $0.session }) else {
            let why = state.withLock { $0.lastError }.map { ": \($0)" } ?? ""
            return .failure(KernelError(.unreachable, "mcp server \(name) is not running\(why) (see `agentctl mcp ls`)"))
        }
        let parsed: [String: Value]
        do {
            parsed = try JSONDecoder().decode([String: Value].self, from: Data(arguments.utf8))
        } catch {
            return .failure(KernelError(.invalidToolArguments, "\(name).\(tool): the arguments are not a JSON object"))
        }
        let now = monotonicNanos()
        let waitNanos = deadline.map { $0 > now ? $0 - now : 0 } ?? Self.defaultCallTimeoutNanos
        let outcome = Mutex<Result<String, KernelError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let name = name
        let task = Task {
            let result: Result<String, KernelError>
            do {
                let answer = try await session.client.callTool(name: tool, arguments: parsed)
                result = Self.result(of: answer.content, isError: answer.isError == true, tool: "\(name).\(tool)")
            } catch {
                if let status = session.exitStatus {
                    result = .failure(KernelError(.unreachable, "mcp server \(name) exited with status \(status) during the call of \(tool); it is being restarted"))
                } else {
                    result = .failure(KernelError(.toolFailed, MCPSession.describe(error)))
                }
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + .nanoseconds(Int(clamping: waitNanos))) == .success else {
            task.cancel()
            let seconds = String(format: "%.3g", Double(waitNanos) / 1e9)
            return .failure(KernelError(.timedOut, "\(name).\(tool) did not return within \(seconds) s (mcp server \(name))"))
        }
        return outcome.withLock { $0 } ?? .failure(KernelError(.internal, "no outcome"))
    }

    /// A call's answer as the kernel's tool result: the text content, as JSON
    /// when it is JSON and as a JSON string otherwise; `isError` is the tool's failure.
    static func result(of content: [Tool.Content], isError: Bool, tool: String) -> Result<String, KernelError> {
        var texts: [String] = []
        for item in content {
            switch item {
            case .text(let text, _, _): texts.append(text)
            case .image(_, let mimeType, _, _): texts.append("[an image, \(mimeType)]")
            case .audio(_, let mimeType, _, _): texts.append("[audio, \(mimeType)]")
            case .resource: texts.append("[a resource]")
            case .resourceLink(let uri, _, _, _, _, _): texts.append("[a link to \(uri)]")
            }
        }
        let text = texts.joined(separator: "\n")
        if isError { return .failure(KernelError(.toolFailed, text.isEmpty ? "\(tool) failed" : text)) }
        if texts.count == 1, (try? JSONParser.parse(text)) != nil { return .success(text) }
        return .success(JSONValue.string(text).jsonText)
    }
}
