import AsyncHTTPClient
import Foundation
import KernelCore
import NIOCore

/// The OpenAI-compatible engine: sends the kernel's requests to llama-server,
/// vLLM, Ollama or a hosted API as `POST {baseURL}/chat/completions`, streamed
/// as server-sent events.
///
/// The kernel still queues, orders and accounts every request; a dispatcher
/// thread takes one whenever fewer than `slots` are in flight and runs it as a
/// task. A grammar is sent as `grammar` (llama-server's extension: other
/// servers ignore or refuse it), a JSON Schema as `response_format`
/// `json_schema` (strict), tools as OpenAI function tools (`OpenAITools`;
/// llama-server needs `--jinja` and a chat template that describes tools):
/// only answer text streams, the calls come with the finish. Every failure
/// ends the request with a `KernelError` of one line naming the engine. Thread-safe.
public final class OpenAIEngine: InferenceEngine, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// The API root, e.g. http://127.0.0.1:8080/v1.
        public var baseURL: String
        /// The `model` of each request.
        public var model: String
        /// Sent as `Authorization: Bearer` when set.
        public var apiKey: String?
        /// Requests in flight at most; match the server's parallel slots, or
        /// the requests it queues may stall out.
        public var slots = 8
        /// The server's context per request, for `agentctl engine` and `prepare`.
        public var contextTokens = 8192
        /// Seconds to establish a connection.
        public var connectTimeout: Double = 10
        /// Seconds without a byte from the server, before or during the stream,
        /// after which a request fails as stalled.
        public var stallTimeout: Double = 30
        /// How tools are offered to the server (`agentosd --engine-tools`).
        public var toolFormat = OpenAIToolFormat.native

        public init(baseURL: String, model: String) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.model = model
        }
    }

    public let info: EngineInfo
    private let configuration: Configuration
    private let client: HTTPClient
    private let lock = ConditionLock()
    private var state = State()  // guarded by `lock`
    private let dispatcherDone = DispatchSemaphore(value: 0)

    private struct State {
        var scheduler: InferenceScheduler?
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var stopping = false
        var stats = EngineStats()
        /// When `tasks` last became non-empty, for `busySeconds`.
        var busySince: UInt64 = 0
        /// With `toolFormat` auto: false once the server answered a request
        /// that required a call without one (it ignores tools), true once it made a call.
        var serverHonoursTools: Bool?
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        var settings = HTTPClient.Configuration()
        settings.timeout.connect = .nanoseconds(Int64(configuration.connectTimeout * 1e9))
        settings.timeout.read = .nanoseconds(Int64(configuration.stallTimeout * 1e9))
        // A refused connection means the engine is down: say so at once rather than retry until the connect timeout.
        settings.connectionPool.retryConnectionEstablishment = false
        settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, configuration.slots)
        // Below the 5 s keep-alive of llama-server and uvicorn (vLLM), so a request never goes out on a connection the server is closing.
        settings.connectionPool.idleTimeout = .seconds(4)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
        info = EngineInfo(
            kind: "openai", model: configuration.model, slots: configuration.slots,
            contextTokens: configuration.contextTokens, endpoint: configuration.baseURL)
    }

    // MARK: InferenceEngine

    /// Checks that `maxTokens` fits the context and that JSON Schemas (output,
    /// tool parameters) are JSON objects, and encodes the request body once.
    public func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)? {
        try preparedRequest(for: parameters)
    }

    /// The body for `parameters`, with tools in `format` (default: the configured
    /// one; auto is kernel once the server is known to ignore tools, else native).
    private func preparedRequest(for parameters: InferenceParameters, format: OpenAIToolFormat? = nil) throws(KernelError) -> OpenAIChat.PreparedRequest {
        guard parameters.maxTokens < configuration.contextTokens else {
            throw KernelError(.invalidArgument, "max_tokens \(parameters.maxTokens) does not fit the context of \(configuration.contextTokens) tokens per request")
        }
        let format = format ?? (configuration.toolFormat == .auto && lock.withLock({ state.serverHonoursTools }) == false ? .kernel : configuration.toolFormat)
        guard format == .kernel, !parameters.tools.isEmpty else {
            let names = OpenAITools.Names(parameters.tools)
            return OpenAIChat.PreparedRequest(body: try OpenAIChat.body(for: parameters, model: configuration.model, names: names), names: names)
        }
        let rewritten = try OpenAIToolFormat.kernelParameters(parameters)
        let names = OpenAITools.Names([])
        return OpenAIChat.PreparedRequest(
            body: try OpenAIChat.body(for: rewritten, model: configuration.model, names: names), names: names, kernelTools: true)
    }

    /// Starts the dispatcher thread.
    public func start(serving scheduler: InferenceScheduler) {
        lock.withLock { state.scheduler = scheduler }
        let thread = Thread { [self] in
            dispatch(scheduler)
            dispatcherDone.signal()
        }
        thread.name = "aos:openai"
        thread.start()
    }

    /// Fails what is in flight with `.stopping`, stops the dispatcher and closes
    /// the connections. Blocks: call it off the cooperative pool.
    public func shutdown() {
        let (scheduler, tasks): (InferenceScheduler?, [Task<Void, Never>]) = lock.withLock {
            guard !state.stopping else { return (nil, []) }
            state.stopping = true
            lock.broadcast()
            return (state.scheduler, Array(state.tasks.values))
        }
        for task in tasks { task.cancel() }
        if let scheduler {
            scheduler.wakeEngine()
            dispatcherDone.wait()
        }
        lock.withLock {
            let deadline = monotonicNanos() + 5_000_000_000
            while !state.tasks.isEmpty && lock.wait(until: deadline) {}
        }
        try? client.syncShutdown()
    }

    public func stats() -> EngineStats {
        lock.withLock {
            var stats = state.stats
            stats.activeSequences = state.tasks.count
            if !state.tasks.isEmpty { stats.busySeconds += Double(monotonicNanos() - state.busySince) / 1e9 }
            return stats
        }
    }

    // MARK: Dispatch

    /// Takes requests while fewer than `slots` are in flight, until `shutdown`.
    private func dispatch(_ scheduler: InferenceScheduler) {
        while true {
            let hasRoom = lock.withLock {
                while !state.stopping && state.tasks.count >= max(1, configuration.slots) { lock.wait() }
                return !state.stopping
            }
            guard hasRoom else { return }
            guard let request = scheduler.take(waitingUntil: monotonicNanos() + 250_000_000) else { continue }
            launch(request, scheduler: scheduler)
        }
    }

    /// Runs `request` as a task that cancelling the request cancels.
    private func launch(_ request: InferenceRequest, scheduler: InferenceScheduler) {
        let task: Task<Void, Never>? = lock.withLock {
            guard !state.stopping else { return nil }
            if state.tasks.isEmpty { state.busySince = monotonicNanos() }
            // Created under the lock, so `ended` cannot run before the task is registered.
            let task = Task { [self] in
                await run(request, scheduler: scheduler)
                ended(request)
            }
            state.tasks[request.id] = task
            return task
        }
        guard let task else { return request.fail(Self.stoppingError) }
        request.onCancel { task.cancel() }
    }

    private func ended(_ request: InferenceRequest) {
        lock.withLock {
            state.tasks[request.id] = nil
            if state.tasks.isEmpty { state.stats.busySeconds += Double(monotonicNanos() - state.busySince) / 1e9 }
            lock.broadcast()
        }
    }

    private static let stoppingError = KernelError(.stopping, "the engine is shutting down")

    // MARK: One request

    /// Runs `request` to its end: finished, cancelled or failed, never left open.
    private func run(_ request: InferenceRequest, scheduler: InferenceScheduler) async {
        do {
            var prepared = try request.prepared as? OpenAIChat.PreparedRequest ?? preparedRequest(for: request.parameters)
            // auto, until the server has shown it honours tools: answers are held back, in case this one must be asked again.
            let probing = configuration.toolFormat == .auto && !prepared.kernelTools && !request.parameters.tools.isEmpty
                && lock.withLock({ state.serverHonoursTools }) != true
            var (reason, calls, held) = try await stream(request, prepared: prepared, holdingText: probing, scheduler: scheduler)
            if probing, !calls.isEmpty {
                lock.withLock { state.serverHonoursTools = true }
            } else if probing, request.parameters.toolChoice == .required, reason != .cancelled {
                // A call was required and none came: the server ignores tools. Ask again in the kernel's format.
                lock.withLock { state.serverHonoursTools = false }
                prepared = try preparedRequest(for: request.parameters, format: .kernel)
                (reason, calls, held) = try await stream(request, prepared: prepared, holdingText: false, scheduler: scheduler)
            }
            if !held.isEmpty { request.record(tokens: 0, piece: held, at: monotonicNanos()) }
            guard reason != .length || calls.isEmpty else {
                throw KernelError(.engineFailed, "the model's tool call did not end within max_tokens (\(request.parameters.maxTokens)); raise max_tokens")
            }
            request.finish(reason, toolCalls: calls, at: monotonicNanos())
        } catch {
            if request.isCancelled {
                request.finish(.cancelled, at: monotonicNanos())
            } else if lock.withLock({ state.stopping }) {
                request.fail(Self.stoppingError)
            } else {
                request.fail(error as? KernelError ?? KernelError(.engineFailed, "engine at \(configuration.baseURL) failed: \(error)"))
            }
        }
    }

    /// Sends `request` and reads its event stream into it. Returns how it
    /// finished, the tools the model called and the answer text held back;
    /// throws a `KernelError`, or any error once cancelled.
    ///
    /// With `prepared.kernelTools` or `holdingText`, the answer's pieces are
    /// counted but not passed on: a call written in the kernel format is read
    /// from the text and never shown as an answer; other text is returned as
    /// `held`, for the caller to pass on (or drop, to ask again).
    private func stream(
        _ request: InferenceRequest, prepared: OpenAIChat.PreparedRequest, holdingText: Bool, scheduler: InferenceScheduler
    ) async throws -> (FinishReason, [ToolCallRequest], held: String) {
        let holds = holdingText || prepared.kernelTools
        var held = ""
        var http = HTTPClientRequest(url: configuration.baseURL + "/chat/completions")
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        http.headers.add(name: "Accept", value: "text/event-stream")
        if let key = configuration.apiKey { http.headers.add(name: "Authorization", value: "Bearer \(key)") }
        http.body = .bytes(ByteBuffer(bytes: prepared.body))

        request.markStarted(at: monotonicNanos())
        let response: HTTPClientResponse
        do {
            response = try await send(http)
        } catch {
            throw stalled(error) ?? KernelError(.engineUnavailable, "engine at \(configuration.baseURL) unreachable: \(reason(error))")
        }
        guard response.status == .ok else {
            throw OpenAIChat.refusal(status: response.status.code, body: try await prefix(of: response.body), engine: configuration.baseURL)
        }

        var events = ServerSentEvents()
        var chunk = OpenAIChat.StreamState(calls: OpenAITools.Assembly(names: prepared.names, turn: request.parameters.messages.count { $0.toolCalls != nil }))
        var opening = ""  // the body's start, to quote when it is not a stream
        do {
            for try await buffer in response.body {
                try Task.checkCancellation()
                if opening.count < 80 { opening += String(buffer: buffer).prefix(80 - opening.count) }
                for event in events.feed(buffer.readableBytesView) {
                    guard case .message(let data) = event else {
                        guard let finish = chunk.finish else { throw malformed("[DONE] before a finish_reason") }
                        return try finished(finish, chunk.calls.requests, held: held, kernelTools: prepared.kernelTools, request)
                    }
                    let update = try chunk.take(data)
                    if holds { held += update.piece ?? "" }
                    if update.tokens > 0 { request.record(tokens: update.tokens, piece: holds ? "" : update.piece ?? "", at: monotonicNanos()) }
                    if let prompt = update.promptTokens { request.setPromptTokens(prompt, cached: update.cachedPromptTokens) }
                    if update.extraTokens > 0 { request.record(tokens: update.extraTokens, piece: "", at: monotonicNanos()) }
                    let completion = update.tokens + update.extraTokens
                    scheduler.charge(request, promptTokens: update.newPromptTokens, completionTokens: completion)
                    lock.withLock {
                        state.stats.steps += 1
                        state.stats.promptTokens += UInt64(update.newPromptTokens)
                        state.stats.cachedPromptTokens += UInt64(update.cachedPromptTokens)
                        state.stats.generatedTokens += UInt64(completion)
                    }
                }
                guard events.pendingBytes < 1 << 20 else { throw malformed("a line of over 1 MiB") }
            }
        } catch let error as KernelError {
            throw error
        } catch {
            try Task.checkCancellation()
            throw stalled(error) ?? KernelError(.engineFailed, "engine at \(configuration.baseURL) broke off the stream: \(reason(error))")
        }
        try Task.checkCancellation()
        if let finish = chunk.finish {  // some servers end without [DONE]
            return try finished(finish, chunk.calls.requests, held: held, kernelTools: prepared.kernelTools, request)
        }
        guard chunk.events > 0 else { throw malformed("no server-sent events; the body began \(OpenAIChat.quote(opening))") }
        throw malformed("it ended without a finish_reason")
    }

    /// How a stream ended. In the kernel's tool format, a call is read from
    /// the held text (which is then no answer); a cut-off call is an error.
    private func finished(
        _ reason: FinishReason, _ calls: [ToolCallRequest], held: String, kernelTools: Bool, _ request: InferenceRequest
    ) throws -> (FinishReason, [ToolCallRequest], held: String) {
        guard kernelTools else { return (reason, calls, held) }
        let turn = request.parameters.messages.count { $0.toolCalls != nil }
        if let calls = OpenAIToolFormat.calls(in: held, turn: turn) { return (reason, calls, "") }
        guard !held.hasPrefix("<") else {
            throw KernelError(.engineFailed, "the model's tool call did not end within max_tokens (\(request.parameters.maxTokens)); raise max_tokens")
        }
        return (reason, [], held)
    }

    /// Executes `http`, once more if it failed before any response: the server
    /// may have just closed the pooled keep-alive connection it went out on
    /// (seen as "remote connection closed" or "I/O on closed channel"), and
    /// nothing was generated yet, so a resend is safe. A stall or a second failure is reported.
    private func send(_ http: HTTPClientRequest) async throws -> HTTPClientResponse {
        // Stalls are caught by the idle read timeout; this deadline (to the response head) is only a backstop.
        do {
            return try await client.execute(http, timeout: .hours(24))
        } catch where stalled(error) == nil {
            try Task.checkCancellation()
            return try await client.execute(http, timeout: .hours(24))
        }
    }

    /// The first 4 KiB of an error body, decoded leniently.
    private func prefix(of body: HTTPClientResponse.Body) async throws -> String {
        var bytes = ByteBuffer()
        do {
            for try await buffer in body {
                bytes.writeImmutableBuffer(buffer)
                if bytes.readableBytes >= 4096 { break }
            }
        } catch {
            try Task.checkCancellation()  // a cut-off error body still says what it can
        }
        return String(decoding: bytes.readableBytesView.prefix(4096), as: UTF8.self)
    }

    private func malformed(_ detail: String) -> KernelError {
        KernelError(.engineFailed, "engine sent a malformed stream: \(detail)")
    }

    /// The error for a read timeout, nil for any other error.
    private func stalled(_ error: Error) -> KernelError? {
        guard (error as? HTTPClientError) == .readTimeout else { return nil }
        return KernelError(.timedOut, "engine at \(configuration.baseURL) stalled: no data for \(String(format: "%g", configuration.stallTimeout)) s")
    }

    /// A short reason for a transport error.
    private func reason(_ error: Error) -> String {
        switch error as? HTTPClientError {
        case .connectTimeout?: return "connect timed out after \(String(format: "%g", configuration.connectTimeout)) s"
        case .remoteConnectionClosed?: return "the server closed the connection"
        default: break
        }
        let text = String(describing: error)
        for (needle, reason) in [
            ("Connection refused", "connection refused"), ("Connection reset", "connection reset"),
            ("Network is unreachable", "network unreachable"), ("No route to host", "no route to host"),
            ("dnsAError", "host name not resolved"),
        ] where text.contains(needle) {
            return reason
        }
        return text
    }
}
