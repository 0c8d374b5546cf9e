import ControlServer
import Foundation
import Hummingbird
import KernelCore
import StrictJSON

/// One `POST /v1/chat/completions`: to the engine, scheduled under the key's
/// principal and quotas, or to an agent as a message whose reply is the answer.
struct ChatCompletion: Sendable {
    let api: OpenAIAPI
    let key: APIKey
    let request: ChatCompletionRequest
    /// The `X-Session-ID` header, for a request to an agent (`AgentSession`).
    let sessionHeader: String?
    let created = Int64(Date().timeIntervalSince1970)

    func respond() async throws -> Response {
        switch try api.target(request.model, for: key, action: "chat.completions") {
        case .engine: return try await fromEngine()
        case .agent(let name): return try await fromAgent(name)
        }
    }

    // MARK: The engine

    private func fromEngine() async throws -> Response {
        // With tools the text may be a call: it is sent whole at the end, never piece by piece.
        let streamsPieces = request.stream && request.parameters.tools.isEmpty
        let sink = StreamingSink(keepPieces: streamsPieces)
        let inference: InferenceHandle
        do {
            inference = try api.kernel.inference.submit(
                agent: key.principal, priority: 0, parameters: request.parameters, sink: sink)
        } catch {
            throw OpenAIError(error, param: Self.param(of: error))
        }
        let id = "chatcmpl-\(inference.id)"
        guard request.stream else {
            let outcome = await withTaskCancellationHandler { await sink.outcome() } onCancel: { inference.cancel() }
            return OpenAIResponse.json(completion(id: id, try result(outcome)))
        }
        return stream { writer in
            do {
                try await writer.write(OpenAIResponse.event(chunk(id: id, delta: [("role", .string("assistant")), ("content", .string(""))])))
                for await event in sink.stream {
                    switch event {
                    case .piece(let piece):
                        try await writer.write(OpenAIResponse.event(chunk(id: id, delta: [("content", .string(piece))])))
                    case .step: break
                    case .finished(.failure(let error)):
                        try await writer.write(OpenAIResponse.event(OpenAIError(error).json))
                    case .finished(.success(let result)):
                        try await finish(&writer, id: id, result: result, sentText: streamsPieces)
                    }
                }
                try await writer.write(OpenAIResponse.done)
                try await writer.finish(nil)
            } catch {
                // The client went away: the request is cancelled and its slot freed.
                inference.cancel()
                throw error
            }
        }
    }

    /// The result of a finished request, or the error it ended with.
    private func result(_ outcome: Result<InferenceResult, KernelError>) throws(OpenAIError) -> InferenceResult {
        switch outcome {
        case .success(let result): return result
        case .failure(let error): throw OpenAIError(error, param: Self.param(of: error))
        }
    }

    /// The last chunks of a stream: text not yet sent, tool calls, the finish reason, the usage.
    private func finish(_ writer: inout any ResponseBodyWriter, id: String, result: InferenceResult, sentText: Bool) async throws {
        if !sentText, !result.text.isEmpty {
            try await writer.write(OpenAIResponse.event(chunk(id: id, delta: [("content", .string(result.text))])))
        }
        if !result.toolCalls.isEmpty {
            let calls: [JSONValue] = result.toolCalls.enumerated().map { index, call in
                .object([("index", .integer(Int64(index)))] + Self.toolCall(call).asObject!)
            }
            try await writer.write(OpenAIResponse.event(chunk(id: id, delta: [("tool_calls", .array(calls))])))
        }
        try await writer.write(OpenAIResponse.event(chunk(id: id, delta: [], finish: Self.finishReason(result))))
        if request.includeUsage {
            try await writer.write(OpenAIResponse.event(envelope(id: id, object: "chat.completion.chunk", choices: [], usage: Self.usage(result.usage))))
        }
    }

    // MARK: An agent

    /// Delivers the last user message to agent `name`, in the session the
    /// request names (`AgentSession`), and answers with its reply.
    private func fromAgent(_ name: String) async throws -> Response {
        guard let question = request.parameters.messages.last(where: { $0.role == "user" })?.content else {
            throw OpenAIError.invalid("a request to an agent needs a user message", param: "messages")
        }
        let session = try AgentSession.id(header: sessionHeader, user: request.user, key: key)
        let reply: [UInt8]?
        let messageID: UInt64
        do {
            (messageID, reply, _) = try await api.kernel.messages.deliver(
                to: name, body: Array(question.utf8), wait: true, timeoutMs: Self.agentTimeoutMs, session: session)
        } catch {
            if error.code == .notFound { throw OpenAIError.modelNotFound("agent \(name.prefix(64)) is not running (see `agentctl ps`)") }
            throw OpenAIError(error)
        }
        let text = reply.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let id = "chatcmpl-\(messageID)"
        let result = InferenceResult(requestID: messageID, text: text, finishReason: .stop, usage: InferenceUsage())
        guard request.stream else { return OpenAIResponse.json(completion(id: id, result)) }
        return stream { writer in
            try await writer.write(OpenAIResponse.event(chunk(id: id, delta: [("role", .string("assistant")), ("content", .string(""))])))
            try await finish(&writer, id: id, result: result, sentText: false)
            try await writer.write(OpenAIResponse.done)
            try await writer.finish(nil)
        }
    }

    /// How long an agent may take to reply.
    static let agentTimeoutMs: UInt32 = 120_000

    // MARK: Shapes

    private func stream(_ body: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody(body))
    }

    private func completion(id: String, _ result: InferenceResult) -> JSONValue {
        var message: [(key: String, value: JSONValue)] = [("role", .string("assistant"))]
        message.append(("content", result.toolCalls.isEmpty || !result.text.isEmpty ? .string(result.text) : .null))
        if !result.toolCalls.isEmpty { message.append(("tool_calls", .array(result.toolCalls.map(Self.toolCall)))) }
        let choice: JSONValue = .object([
            ("index", .integer(0)), ("message", .object(message)), ("logprobs", .null),
            ("finish_reason", .string(Self.finishReason(result))),
        ])
        return envelope(id: id, object: "chat.completion", choices: [choice], usage: Self.usage(result.usage))
    }

    private func chunk(id: String, delta: [(key: String, value: JSONValue)], finish: String? = nil) -> JSONValue {
        let choice: JSONValue = .object([
            ("index", .integer(0)), ("delta", .object(delta)), ("logprobs", .null),
            ("finish_reason", finish.map(JSONValue.string) ?? .null),
        ])
        return envelope(id: id, object: "chat.completion.chunk", choices: [choice], usage: nil)
    }

    private func envelope(id: String, object: String, choices: [JSONValue], usage: JSONValue?) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("object", .string(object)), ("created", .integer(created)),
            ("model", .string(request.model)), ("system_fingerprint", .null), ("choices", .array(choices)),
        ]
        if let usage { members.append(("usage", usage)) }
        return .object(members)
    }

    static func toolCall(_ call: ToolCallRequest) -> JSONValue {
        .object([
            ("id", .string(call.id)), ("type", .string("function")),
            ("function", .object([("name", .string(call.name)), ("arguments", .string(call.arguments))])),
        ])
    }

    static func finishReason(_ result: InferenceResult) -> String {
        if !result.toolCalls.isEmpty { return "tool_calls" }
        return result.finishReason == .length ? "length" : "stop"
    }

    /// OpenAI's usage, with the prompt tokens served from the KV cache as `cached_tokens`.
    static func usage(_ usage: InferenceUsage) -> JSONValue {
        .object([
            ("prompt_tokens", .integer(Int64(usage.promptTokens))),
            ("completion_tokens", .integer(Int64(usage.completionTokens))),
            ("total_tokens", .integer(Int64(usage.promptTokens + usage.completionTokens))),
            ("prompt_tokens_details", .object([("cached_tokens", .integer(Int64(usage.cachedPromptTokens)))])),
        ])
    }

    /// The request parameter a kernel error is about, when its code says.
    static func param(of error: KernelError) -> String? {
        switch error.code {
        case .invalidSchema: "response_format"
        case .promptTooLong: "messages"
        default: nil
        }
    }
}
