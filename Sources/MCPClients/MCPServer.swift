import ControlAPI
import Dispatch
import Foundation
import KernelCore
import Logging
import MCP
import StrictJSON
import Synchronization

/// One registered external MCP server, supervised: its process is started
/// (or its URL connected), its tools are offered as kernel tools `NAME.TOOL`
/// (`ToolService.registerExternal`), listed again at each new session and when
/// the server sends `notifications/tools/list_changed` (over stdio: on Linux
/// swift-sdk opens no event stream to a URL server), and when the session ends it is opened
/// again after a backoff (1 s, doubling to 30 s; back to 1 s after a run of
/// 30 s or more). A session ends when the process exits, an HTTP exchange
/// fails, a URL server leaves an idle ping unanswered for 10 s, or a call
/// times out and the server then leaves a ping unanswered for 10 s (hung).
/// While it is down its tools stay listed and calls fail with `.unreachable`.
///
/// Thread-safe: `state` is only touched inside its lock; `call` blocks the
/// calling thread (ToolService runs calls off the Swift concurrency pool).
final class MCPServer: ExternalToolProvider, Sendable {
    let registration: AddMCPServerRequest
    private let endpoint: URL?
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
        /// Calls whose callers wait (a URL server is pinged only when idle).
        var calls = 0
        /// Resumed once, by the first start's outcome (`start`).
        var firstStart: CheckedContinuation<Result<Void, KernelError>, Never>?
    }

    /// How long a start may take to answer MCP's initialize and tools/list.
    static let startTimeout: Duration = .seconds(15)
    /// How long a call may take when its caller gives no deadline.
    static let defaultCallTimeoutNanos: UInt64 = 30_000_000_000
    /// How long a ping may go unanswered before the server counts as hung.
    static let pingTimeout: Duration = .seconds(10)
    /// How often an idle URL server is pinged.
    static let pingInterval: Duration = .seconds(5)

    /// `endpoint`: the parsed `registration.url`, for a URL server.
    init(_ registration: AddMCPServerRequest, endpoint: URL?, kernel: Kernel, logPath: String, logger: Logger) {
        self.registration = registration
        self.endpoint = endpoint
        self.kernel = kernel
        self.logPath = logPath
        self.logger = logger
    }

    var name: String { registration.name }

    /// What messages name the server by: its program or its URL.
    private var what: String { registration.url ?? registration.command[0] }

    /// Starts supervising; returns the first start's outcome. When that start
    /// fails, supervision goes on only if `keepTrying` (a registration restored
    /// at kernel start); otherwise it ends there.
    @discardableResult
    func start(keepTrying: Bool) async -> Result<Void, KernelError> {
        await withCheckedContinuation { continuation in
            state.withLock { $0.firstStart = continuation }
            let task = Task { await self.supervise(keepTrying: keepTrying) }
            supervisor.withLock { $0 = task }
        }
    }

    /// Stops supervising, ends the session (a process: stdin closed, then
    /// SIGTERM, then SIGKILL) and withdraws the tools; returns once the process
    /// is gone (at most the 15 s a start in progress may take, plus the stop).
    func stop() async {
        let session = state.withLock { state in
            state.stopped = true
            state.phase = "stopped"
            return state.session
        }
        let supervising = supervisor.withLock { task in
            task?.cancel()
            return task
        }
        session?.end("stopped")
        await session?.stopped()
        // A session it is still opening, or an old one it waits on, ends with it.
        await supervising?.value
        kernel.tools.unregisterExternal(prefix: name)
    }

    var info: MCPServerInfo {
        state.withLock { state in
            MCPServerInfo(
                name: name, command: registration.command, url: registration.url, state: state.phase, pid: state.session?.pid,
                tools: state.tools, skipped: state.skipped, restarts: state.restarts, lastError: state.lastError)
        }
    }

    private func open() async throws(KernelError) -> MCPSession {
        if let endpoint {
            let headers = try HeaderReferences.resolve(registration.headers ?? [:], environment: ProcessInfo.processInfo.environment)
            for (field, value) in headers { try MCPServerSet.checkHeader(field, value) }
            return try await MCPSession.connect(endpoint, headers: headers, timeout: Self.startTimeout, logger: logger)
        }
        return try await MCPSession.start(registration.command, log: logPath, timeout: Self.startTimeout, logger: logger)
    }

    private func supervise(keepTrying: Bool) async {
        var backoff: Duration = .seconds(1)
        while !Task.isCancelled {
            let began = ContinuousClock.now
            do throws(KernelError) {
                let session = try await open()
                if state.withLock({ $0.stopped }) {  // `stop` came while it started
                    session.end("stopped")
                    await session.stopped()
                    let first = state.withLock { state in
                        defer { state.firstStart = nil }
                        return state.firstStart
                    }
                    first?.resume(returning: .failure(KernelError(.unreachable, "mcp server \(name) was removed while it started")))
                    return
                }
                let offered = try await offer(session)
                let (first, stopped) = state.withLock { state in
                    defer { state.firstStart = nil }
                    guard !state.stopped else { return (state.firstStart, true) }
                    state.session = session
                    state.phase = "running"
                    state.tools = offered.tools
                    state.skipped = offered.skipped
                    return (state.firstStart, false)
                }
                if stopped { session.end("stopped") }  // `stop` came while it offered the tools
                await session.client.onNotification(ToolListChangedNotification.self) { _ in
                    Task { await self.reoffer(session) }  // not in the handler: the client reads the answer to tools/list
                }
                first?.resume(returning: .success(()))
                logger.info(
                    "mcp server started",
                    metadata: ["server": "\(name)", "pid": "\(session.pid.map(String.init) ?? "-")", "tools": "\(offered.tools.count)"])
                let reason = await watch(session)
                note(failure: reason, of: session)
                await session.stopped()  // never two of its processes at once
            } catch {
                note(failure: error.message, of: nil)
                let first = state.withLock { state in
                    defer { state.firstStart = nil }
                    return state.firstStart
                }
                if let first {
                    first.resume(returning: .failure(error))
                    if !keepTrying { return }  // a registration that never started is not kept
                }
            }
            if ContinuousClock.now - began >= .seconds(30) { backoff = .seconds(1) }
            guard !state.withLock({ $0.stopped }) else { return }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
            state.withLock { $0.restarts += 1 }
        }
    }

    /// Waits until `session` ends; returns why. A URL server, whose death no
    /// process exit tells, is pinged meanwhile whenever no call is waiting.
    private func watch(_ session: MCPSession) async -> String {
        guard endpoint != nil else { return await session.waitForEnd() }
        let pinger = Task {
            while session.endReason == nil && !Task.isCancelled {
                try? await Task.sleep(for: Self.pingInterval)
                guard session.endReason == nil, !Task.isCancelled, state.withLock({ $0.calls == 0 }) else { continue }
                _ = await session.answersPing(within: Self.pingTimeout, else: "did not answer a ping within \(Self.pingTimeout)")
            }
        }
        defer { pinger.cancel() }
        return await session.waitForEnd()
    }

    private func note(failure: String, of session: MCPSession?) {
        state.withLock { state in
            if session == nil || state.session === session { state.session = nil }
            if !state.stopped { state.phase = "restarting" }
            state.lastError = failure
        }
        session?.end(failure)
        guard !state.withLock({ $0.stopped }) else { return }
        logger.warning("mcp server down", metadata: ["server": "\(name)", "reason": "\(failure)"])
    }

    /// After `notifications/tools/list_changed`: lists `session`'s tools again and
    /// offers the new set (a session reopened after a restart lists them anyway).
    private func reoffer(_ session: MCPSession) async {
        guard state.withLock({ $0.session === session }) else { return }
        do throws(KernelError) {
            let offered = try await offer(session)
            state.withLock { state in
                guard state.session === session else { return }
                state.tools = offered.tools
                state.skipped = offered.skipped
            }
            logger.info("mcp server tools changed", metadata: ["server": "\(name)", "tools": "\(offered.tools.count)"])
        } catch {
            logger.warning("mcp server tools changed but could not be listed", metadata: ["server": "\(name)", "reason": "\(error.message)"])
        }
    }

    /// Lists the session's tools and offers those the kernel can express; returns their names and the skipped ones' reasons.
    private func offer(_ session: MCPSession) async throws(KernelError) -> (tools: [String], skipped: [String]) {
        let reason = "did not answer tools/list within \(Self.startTimeout)"
        let answer = await withTimeout(Self.startTimeout, onTimeout: { session.end(reason) }) { () async -> Result<[Tool], Error> in
            do {
                return .success(try await session.listTools())
            } catch {
                return .failure(error)
            }
        }
        let listed: [Tool]
        switch answer {
        case .success(.success(let tools)): listed = tools
        case .success(.failure(let error)):
            let why = session.endReason ?? "did not answer tools/list: \(MCPSession.describe(error))"
            session.end(why)
            throw KernelError(.unreachable, "\(what) \(why)")
        case .failure:
            throw KernelError(.unreachable, "\(what) \(reason)")
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
            session.end("its tools could not be offered")
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
        let request = Mutex<ID?>(nil)
        let done = DispatchSemaphore(value: 0)
        let name = name
        let again = endpoint == nil ? "restarted" : "reconnected"
        state.withLock { $0.calls += 1 }
        defer { state.withLock { $0.calls -= 1 } }  // a call that timed out is the ping's business (`cancel`)
        Task {
            let result: Result<String, KernelError>
            do {
                let context: RequestContext<CallTool.Result> = try await session.client.callTool(name: tool, arguments: parsed)
                request.withLock { $0 = context.requestID }
                let answer = try await context.value
                result = Self.result(of: answer.content, isError: answer.isError == true, tool: "\(name).\(tool)")
            } catch {
                if let reason = session.endReason {
                    result = .failure(KernelError(.unreachable, "mcp server \(name) \(reason) during the call of \(tool); it is being \(again)"))
                } else {
                    result = .failure(KernelError(.toolFailed, MCPSession.describe(error)))
                }
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + .nanoseconds(Int(clamping: waitNanos))) == .success else {
            let requestID = request.withLock { $0 }
            Task { await self.cancel(requestID, of: tool, on: session) }
            let seconds = String(format: "%.3g", Double(waitNanos) / 1e9)
            return .failure(KernelError(.timedOut, "\(name).\(tool) did not return within \(seconds) s (mcp server \(name))"))
        }
        return outcome.withLock { $0 } ?? .failure(KernelError(.internal, "no outcome"))
    }

    /// After a call timed out: tells the server to stop it (MCP's
    /// notifications/cancelled), then pings it; a server that does not answer
    /// within `pingTimeout` is hung, and its session is ended (then opened anew).
    private func cancel(_ request: ID?, of tool: String, on session: MCPSession) async {
        // Not awaited: a hung server may never take the notification (an HTTP POST, a full pipe).
        if let request { Task { try? await session.client.cancelRequest(request, reason: "the caller's deadline passed") } }
        let reason = "did not answer a ping within \(Self.pingTimeout) after a call of \(tool) timed out"
        if !(await session.answersPing(within: Self.pingTimeout, else: reason)), session.endReason == reason {
            logger.warning("mcp server hung", metadata: ["server": "\(name)", "tool": "\(tool)"])
        }
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
