import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The inference part of the control API: `agentctl infer` and `agentctl engine`.
enum InferenceRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, bodyLimit: Int) {
        v1.post("infer") { request, _ in
            let body = try await JSONResponse.decode(InferRequest.self, from: request, limit: bodyLimit)
            let agent = body.agent ?? "agentctl"
            let events = StreamingSink(keepPieces: body.stream == true)
            let inference = try kernel.inference.submit(
                agent: agent, priority: body.priority ?? 0, parameters: try parameters(of: body), tools: try toolUse(of: body),
                sink: events)
            guard body.stream == true else {
                let outcome = await withTaskCancellationHandler {
                    await events.outcome()
                } onCancel: {
                    inference.cancel()
                }
                return try JSONResponse.make(InferResult(try outcome.get(), agent: agent))
            }
            let encoder = ControlJSON.encoder()
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson"],
                body: ResponseBody { writer in
                    // A client that goes away (Ctrl-C in agentctl) cancels the request.
                    do {
                        func send(_ event: InferStreamEvent) async throws {
                            var line = try encoder.encode(event)
                            line.append(UInt8(ascii: "\n"))
                            try await writer.write(ByteBuffer(bytes: line))
                        }
                        try await send(InferStreamEvent(started: inference.id))
                        for await event in events.stream {
                            switch event {
                            case .piece(let piece): try await send(InferStreamEvent(piece: piece))
                            case .step(let record): try await send(InferStreamEvent(step: ToolStep(record)))
                            case .finished(.success(let result)): try await send(InferStreamEvent(result: InferResult(result, agent: agent)))
                            case .finished(.failure(let error)):
                                try await send(InferStreamEvent(error: .init(code: error.code.rawValue, message: error.message)))
                            }
                        }
                        try await writer.finish(nil)
                    } catch {
                        inference.cancel()
                        throw error
                    }
                })
        }

        v1.delete("infer/:id") { _, context in
            let raw = try context.parameters.require("id")
            guard let id = UInt64(raw), kernel.inference.cancel(id: id, owner: nil) else {
                throw KernelError(.notFound, "no unfinished inference request \(raw) (it may have finished)")
            }
            return Response(status: .noContent)
        }

        v1.get("requests/:id/trace") { _, context in
            let raw = try context.parameters.require("id")
            guard let id = UInt64(raw), let trace = kernel.inference.scheduler.traces.trace(id) else {
                throw KernelError(.notFound, "no trace of request \(raw.prefix(40)): unknown, or older than the last \(RequestTraces.capacity) requests")
            }
            let start = trace.events.first?.at ?? 0
            return try JSONResponse.make(RequestTraceInfo(requestId: trace.id, agent: trace.agent, events: trace.events.map { event in
                RequestTraceInfo.Event(
                    atMs: Double(event.at &- start) / 1e6, event: event.event,
                    durationMs: event.durationNanos == 0 ? nil : Double(event.durationNanos) / 1e6, detail: event.detail)
            }))
        }

        v1.get("engine") { _, _ in
            try JSONResponse.make(EngineStatus(kernel))
        }
    }

    /// The tool loop a control request asks for; nil without tools.
    static func toolUse(of body: InferRequest) throws(KernelError) -> ToolUse? {
        guard let patterns = body.tools else {
            guard body.toolChoice == nil, body.maxSteps == nil else {
                throw KernelError(.invalidArgument, "tool_choice and max_steps need tools")
            }
            return nil
        }
        let choice: ToolChoice
        switch body.toolChoice {
        case nil, "auto": choice = .auto
        case "required": choice = .required
        case let other?: throw KernelError(.invalidArgument, "tool_choice \"\(other.prefix(40))\": use auto or required")
        }
        return ToolUse(patterns: patterns, choice: choice, maxSteps: body.maxSteps ?? ToolUse.defaultMaxSteps)
    }

    /// The kernel's parameters for a control request. Throws `.invalidArgument` naming the problem.
    static func parameters(of body: InferRequest) throws(KernelError) -> InferenceParameters {
        var messages: [ChatMessage]
        switch (body.messages, body.prompt) {
        case (let given?, nil): messages = given.map { ChatMessage(role: $0.role, content: $0.content) }
        case (nil, let prompt?): messages = [ChatMessage(role: "user", content: prompt)]
        case (.some, .some): throw KernelError(.invalidArgument, "give messages or prompt, not both")
        case (nil, nil): throw KernelError(.invalidArgument, "nothing to infer: give messages or prompt")
        }
        if let system = body.system { messages.insert(ChatMessage(role: "system", content: system), at: 0) }
        var parameters = InferenceParameters(messages: messages, maxTokens: body.maxTokens ?? InferRequest.defaultMaxTokens)
        parameters.temperature = body.temperature ?? 0
        parameters.topP = body.topP ?? 1
        parameters.seed = body.seed ?? 0
        parameters.stop = body.stop ?? []
        switch (body.grammar, body.jsonSchema) {
        case (.some, .some): throw KernelError(.invalidArgument, "give grammar or json_schema, not both")
        case (let grammar?, nil): parameters.constraint = .grammar(grammar)
        case (nil, let schema?): parameters.constraint = .jsonSchema(schema)
        case (nil, nil): break
        }
        if let session = body.session {
            try SessionService.validate(session)
            parameters.session = session
            let name = body.sessionPolicy ?? SessionPolicy.keepRecent.rawValue
            guard let policy = SessionPolicy(rawValue: name) else {
                throw KernelError(.invalidArgument, "session_policy \"\(name)\" is not keep_recent or summarize")
            }
            parameters.sessionPolicy = policy
            let busy = body.sessionBusy ?? SessionBusyPolicy.enqueue.rawValue
            guard let whenBusy = SessionBusyPolicy(rawValue: busy) else {
                throw KernelError(.invalidArgument, "session_busy \"\(busy)\" is not enqueue, reject or interrupt")
            }
            parameters.sessionWhenBusy = whenBusy
        } else if body.sessionPolicy != nil || body.sessionBusy != nil {
            throw KernelError(.invalidArgument, "\(body.sessionPolicy != nil ? "session_policy" : "session_busy") needs a session")
        }
        return parameters
    }
}

extension EngineStatus {
    init(_ kernel: Kernel) {
        let info = kernel.inference.engine?.info ?? EngineInfo(kind: "none", model: "", slots: 0, contextTokens: 0, endpoint: "")
        let stats = kernel.inference.engine?.stats() ?? EngineStats()
        self.init(
            kind: info.kind, model: info.model, endpoint: info.endpoint, slots: info.slots,
            contextTokens: info.contextTokens, policy: kernel.inference.scheduler.policy.rawValue,
            activeSequences: stats.activeSequences, queueLength: kernel.inference.scheduler.queueLength,
            kvCellsUsed: stats.kvCellsUsed, kvCellsCached: stats.kvCellsCached, kvCellsTotal: stats.kvCellsTotal, steps: stats.steps,
            promptTokens: stats.promptTokens, cachedPromptTokens: stats.cachedPromptTokens,
            prefixCopies: stats.prefixCopies, hostCacheBytes: stats.hostCacheBytes,
            hostCacheBudget: stats.hostCacheBudget, hostCacheEntries: stats.hostCacheEntries,
            hostCacheEvictions: stats.hostCacheEvictions, hostCacheRestores: stats.hostCacheRestores,
            preemptions: stats.preemptions, pausedSequences: stats.pausedSequences, settings: info.settings,
            generatedTokens: stats.generatedTokens,
            meanBatchTokens: stats.steps == 0 ? 0 : Double(stats.batchTokens) / Double(stats.steps),
            generatedTokensPerSecond: stats.busySeconds == 0 ? 0 : Double(stats.generatedTokens) / stats.busySeconds)
    }
}

/// Carries an engine's output to a control request's task (and to the
/// OpenAI-compatible API's). Thread-safe: the engine's thread feeds it, one task reads it.
public final class StreamingSink: InferenceSink, Sendable {
    public enum Event: Sendable {
        case piece(String)
        case step(ToolCallRecord)
        case finished(Result<InferenceResult, KernelError>)
    }

    public let stream: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let keepPieces: Bool

    /// `keepPieces`: pass on the generated pieces and tool steps, not only the end.
    public init(keepPieces: Bool) {
        (stream, continuation) = AsyncStream.makeStream()
        self.keepPieces = keepPieces
    }

    public func received(_ piece: String) {
        if keepPieces { continuation.yield(.piece(piece)) }
    }

    public func calledTool(_ record: ToolCallRecord) {
        if keepPieces { continuation.yield(.step(record)) }
    }

    public func finished(_ outcome: Result<InferenceResult, KernelError>) {
        continuation.yield(.finished(outcome))
        continuation.finish()
    }

    /// Waits for the end of the request.
    public func outcome() async -> Result<InferenceResult, KernelError> {
        for await event in stream {
            if case .finished(let outcome) = event { return outcome }
        }
        return .failure(KernelError(.cancelled, "the request was cancelled"))
    }
}
