import ControlAPI
import ControlServer
import Foundation
import Hummingbird
import KernelCore
import StrictJSON

/// `POST /v1/responses`, the Responses API's text-in/text-out core: `input`
/// (a string or messages of text), `instructions`, `max_output_tokens`,
/// `temperature`, `top_p`; answered with one output message. Streaming,
/// tools and stored conversations are 400s naming the parameter.
struct ResponsesRequest: Sendable {
    var model: String
    var parameters: InferenceParameters
    /// `user`: names the session of a request to an agent (`AgentSession`).
    var user: String?

    init(parsing body: JSONValue) throws(OpenAIError) {
        guard let members = body.asObject else { throw .invalid("the body must be a JSON object", param: nil) }
        var model: String?
        var messages: [ChatMessage] = []
        var instructions: String?
        var maxTokens = InferRequest.defaultMaxTokens
        var temperature: Float = 0
        var topP: Float = 1
        for (key, value) in members {
            switch key {
            case "model":
                guard let text = value.asString else { throw .invalid("model must be a string", param: key) }
                model = text
            case "input": messages = try Self.input(value)
            case "instructions":
                guard let text = value.asString else { throw .invalid("instructions must be a string", param: key) }
                instructions = text
            case "max_output_tokens":
                guard let count = value.asInt, count >= 1 else { throw .invalid("max_output_tokens must be a positive integer", param: key) }
                maxTokens = count
            case "temperature", "top_p":
                let number: Double? =
                    switch value {
                    case .integer(let integer): Double(integer)
                    case .number(let double): double
                    default: nil
                    }
                let range: ClosedRange<Double> = key == "temperature" ? 0...2 : 0...1
                guard let number, range.contains(number) else { throw .invalid("\(key) must be a number in \(range)", param: key) }
                if key == "temperature" { temperature = Float(number) } else { topP = Float(number) }
            case "stream":
                guard value == .bool(false) || value == .null else { throw .unsupported("stream", "/v1/responses answers whole; stream with /v1/chat/completions") }
            case "store":
                guard value == .bool(false) || value == .null else { throw .unsupported("store", "responses are not stored: send store: false") }
            case "user":
                guard let text = value.asString else { throw .invalid("user must be a string", param: key) }
                user = text
            case "metadata": break
            case "tools", "tool_choice", "previous_response_id", "conversation", "background", "reasoning", "text", "include":
                throw .unsupported(key, "/v1/responses takes text in and gives text out; use /v1/chat/completions for tools and formats")
            default:
                throw .invalid("unknown parameter \(key.prefix(60))", param: String(key.prefix(60)), code: "unknown_parameter")
            }
        }
        guard let model else { throw .invalid("model is required", param: "model", code: "missing_required_parameter") }
        guard !messages.isEmpty else { throw .invalid("input is required", param: "input", code: "missing_required_parameter") }
        if let instructions { messages.insert(ChatMessage(role: "system", content: instructions), at: 0) }
        self.model = model
        parameters = InferenceParameters(messages: messages, maxTokens: maxTokens)
        parameters.temperature = temperature
        parameters.topP = topP
    }

    /// `input`: a string, or messages whose content is a string or input_text parts.
    private static func input(_ value: JSONValue) throws(OpenAIError) -> [ChatMessage] {
        if let text = value.asString { return [ChatMessage(role: "user", content: text)] }
        guard let items = value.asArray else { throw .invalid("input must be a string or an array of messages", param: "input") }
        return try items.enumerated().map { (index, item) throws(OpenAIError) in
            let at = "input[\(index)]"
            guard var role = item["role"]?.asString else { throw .invalid("\(at).role is required", param: "\(at).role") }
            if role == "developer" { role = "system" }
            guard ["system", "user", "assistant"].contains(role) else { throw .invalid("\(at).role must be system, developer, user or assistant", param: "\(at).role") }
            switch item["content"] {
            case .string(let text)?: return ChatMessage(role: role, content: text)
            case .array(let parts)?:
                var text = ""
                for part in parts {
                    guard let type = part["type"]?.asString, ["input_text", "output_text"].contains(type), let piece = part["text"]?.asString else {
                        throw .unsupported("\(at).content", "only input_text parts are accepted")
                    }
                    text += piece
                }
                return ChatMessage(role: role, content: text)
            default: throw .invalid("\(at).content must be a string or an array of input_text parts", param: "\(at).content")
            }
        }
    }

    /// Runs the request (the engine, or an agent in the session the request
    /// names: `sessionHeader` or `user`) and answers with a `response` object.
    func respond(api: OpenAIAPI, key: APIKey, sessionHeader: String?) async throws -> Response {
        let text: String
        let usage: InferenceUsage
        let id: UInt64
        switch try api.target(model, for: key, action: "responses") {
        case .engine:
            let sink = StreamingSink(keepPieces: false)
            let inference: InferenceHandle
            do {
                inference = try api.kernel.inference.submit(agent: key.principal, priority: 0, parameters: parameters, sink: sink)
            } catch {
                throw OpenAIError(error)
            }
            switch await withTaskCancellationHandler(operation: { await sink.outcome() }, onCancel: { inference.cancel() }) {
            case .failure(let error): throw OpenAIError(error)
            case .success(let result): (text, usage, id) = (result.text, result.usage, result.requestID)
            }
        case .agent(let name):
            guard let question = parameters.messages.last(where: { $0.role == "user" })?.content else {
                throw OpenAIError.invalid("a request to an agent needs a user message", param: "input")
            }
            let session = try AgentSession.id(header: sessionHeader, user: user, key: key)
            do {
                let (messageID, reply, _) = try await api.kernel.messages.deliver(
                    to: name, body: Array(question.utf8), wait: true, timeoutMs: ChatCompletion.agentTimeoutMs, session: session)
                (text, usage, id) = (reply.map { String(decoding: $0, as: UTF8.self) } ?? "", InferenceUsage(), messageID)
            } catch {
                throw OpenAIError(error)
            }
        }
        let message: JSONValue = .object([
            ("type", .string("message")), ("id", .string("msg_\(id)")), ("status", .string("completed")), ("role", .string("assistant")),
            ("content", .array([.object([("type", .string("output_text")), ("text", .string(text)), ("annotations", .array([]))])])),
        ])
        return OpenAIResponse.json(.object([
            ("id", .string("resp_\(id)")), ("object", .string("response")), ("created_at", .integer(Int64(Date().timeIntervalSince1970))),
            ("status", .string("completed")), ("model", .string(model)), ("output", .array([message])),
            ("usage", .object([
                ("input_tokens", .integer(Int64(usage.promptTokens))),
                ("input_tokens_details", .object([("cached_tokens", .integer(Int64(usage.cachedPromptTokens)))])),
                ("output_tokens", .integer(Int64(usage.completionTokens))),
                ("output_tokens_details", .object([("reasoning_tokens", .integer(0))])),
                ("total_tokens", .integer(Int64(usage.promptTokens + usage.completionTokens))),
            ])),
        ]))
    }
}
