import ControlAPI
import KernelCore
import StrictJSON

/// A `POST /v1/chat/completions` body, checked member by member: an unknown
/// member or an unsupported value is a 400 naming the parameter, never
/// silently ignored.
struct ChatCompletionRequest: Sendable {
    var model: String
    var parameters: InferenceParameters
    var stream = false
    /// `stream_options.include_usage`: a last chunk with the usage.
    var includeUsage = false
    /// `user`: names the session of a request to an agent (`AgentSession`).
    var user: String?

    /// Members accepted but without effect here, with why that is right.
    private static let accepted: Set<String> = [
        "metadata", "store", "parallel_tool_calls", "service_tier",
    ]

    init(parsing body: JSONValue) throws(OpenAIError) {
        guard let members = body.asObject else { throw .invalid("the body must be a JSON object", param: nil) }
        var model: String?
        var messages: [ChatMessage]?
        var maxTokens: Int?
        var temperature: Float = 0
        var topP: Float = 1
        var seed: UInt64 = 0
        var stop: [String] = []
        var tools: [ToolDefinition] = []
        var toolChoice: JSONValue?
        var constraint: OutputConstraint?
        for (key, value) in members {
            switch key {
            case "model": model = try Self.string(value, key)
            case "messages": messages = try Self.messages(value)
            case "stream": stream = try Self.bool(value, key)
            case "stream_options":
                guard let options = value.asObject else { throw .invalid("stream_options must be an object", param: key) }
                for (option, flag) in options {
                    guard option == "include_usage" else { throw .invalid("unknown member stream_options.\(option)", param: "stream_options.\(option)", code: "unknown_parameter") }
                    includeUsage = try Self.bool(flag, "stream_options.include_usage")
                }
            case "max_tokens", "max_completion_tokens":
                guard let count = value.asInt, count >= 1 else { throw .invalid("\(key) must be a positive integer", param: key) }
                maxTokens = count
            case "temperature": temperature = try Self.number(value, key, in: 0...2)
            case "top_p": topP = try Self.number(value, key, in: 0...1)
            case "seed":
                guard let number = value.asInt, number >= 0 else { throw .invalid("seed must be a non-negative integer", param: key) }
                seed = UInt64(number)
            case "stop":
                switch value {
                case .null: break
                case .string(let text): stop = [text]
                case .array(let items):
                    stop = try items.map { item throws(OpenAIError) in try Self.string(item, "stop") }
                default: throw .invalid("stop must be a string or an array of strings", param: key)
                }
            case "n":
                guard value.asInt == 1 else { throw .unsupported("n", "the kernel returns one choice (n must be 1)") }
            case "tools": tools = try Self.tools(value)
            case "tool_choice": toolChoice = value
            case "response_format": constraint = try Self.responseFormat(value)
            case "frequency_penalty", "presence_penalty":
                guard value.asInt == 0 else { throw .unsupported(key, "the kernel's sampler has no penalties (0 is accepted)") }
            case "logprobs":
                guard value == .bool(false) || value == .null else { throw .unsupported(key, "the kernel does not report log probabilities") }
            case "functions", "function_call": throw .unsupported(key, "deprecated by OpenAI: use tools and tool_choice")
            case "user":
                guard let text = value.asString else { throw .invalid("user must be a string", param: key) }
                user = text
            case let other where Self.accepted.contains(other): break
            default:
                throw .invalid("unknown parameter \(key.prefix(60))", param: String(key.prefix(60)), code: "unknown_parameter")
            }
        }
        guard let model else { throw .invalid("model is required", param: "model", code: "missing_required_parameter") }
        guard let messages, !messages.isEmpty else {
            throw .invalid("messages is required: at least one message", param: "messages", code: "missing_required_parameter")
        }
        self.model = model
        var parameters = InferenceParameters(messages: messages, maxTokens: maxTokens ?? InferRequest.defaultMaxTokens)
        parameters.temperature = temperature
        parameters.topP = topP
        parameters.seed = seed
        parameters.stop = stop
        parameters.constraint = constraint
        parameters.tools = tools
        if let toolChoice { try Self.apply(toolChoice, to: &parameters) }
        self.parameters = parameters
    }

    // MARK: Members

    private static func string(_ value: JSONValue, _ param: String) throws(OpenAIError) -> String {
        guard let text = value.asString else { throw .invalid("\(param) must be a string, not \(value.kindName)", param: param) }
        return text
    }

    private static func bool(_ value: JSONValue, _ param: String) throws(OpenAIError) -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .null: return false
        default: throw .invalid("\(param) must be a boolean, not \(value.kindName)", param: param)
        }
    }

    private static func number(_ value: JSONValue, _ param: String, in range: ClosedRange<Float>) throws(OpenAIError) -> Float {
        let number: Double? =
            switch value {
            case .integer(let integer): Double(integer)
            case .number(let double): double
            default: nil
            }
        guard let number, range.contains(Float(number)) else {
            throw .invalid("\(param) must be a number in \(range.lowerBound)...\(range.upperBound)", param: param)
        }
        return Float(number)
    }

    /// `messages`: roles system, developer (as system), user, assistant and tool; text content only.
    private static func messages(_ value: JSONValue) throws(OpenAIError) -> [ChatMessage] {
        guard let items = value.asArray else { throw .invalid("messages must be an array", param: "messages") }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            let at = "messages[\(index)]"
            guard let members = item.asObject else { throw .invalid("\(at) must be an object", param: at) }
            var role: String?
            var content = ""
            var toolCalls: [ToolCallRequest]?
            var toolCallID: String?
            for (key, member) in members {
                switch key {
                case "role": role = try string(member, "\(at).role")
                case "content": content = try text(of: member, "\(at).content")
                case "name": _ = try string(member, "\(at).name")
                case "tool_call_id": toolCallID = try string(member, "\(at).tool_call_id")
                case "tool_calls": toolCalls = try calls(member, "\(at).tool_calls")
                case "refusal": break
                default: throw .invalid("unknown member \(at).\(key.prefix(40))", param: "\(at).\(key.prefix(40))", code: "unknown_parameter")
                }
            }
            guard var role else { throw .invalid("\(at).role is required", param: "\(at).role", code: "missing_required_parameter") }
            if role == "developer" { role = "system" }
            guard ChatMessage.roles.contains(role) else {
                throw .invalid("\(at).role \"\(role.prefix(40))\": use system, developer, user, assistant or tool", param: "\(at).role")
            }
            if role == "tool", toolCallID == nil {
                throw .invalid("\(at) has role tool but no tool_call_id", param: "\(at).tool_call_id", code: "missing_required_parameter")
            }
            messages.append(ChatMessage(role: role, content: content, toolCalls: toolCalls, toolCallID: toolCallID))
        }
        return messages
    }

    /// A message's content: a string, null, or an array of text parts.
    private static func text(of value: JSONValue, _ param: String) throws(OpenAIError) -> String {
        switch value {
        case .null: return ""
        case .string(let text): return text
        case .array(let parts):
            var text = ""
            for (index, part) in parts.enumerated() {
                guard part["type"]?.asString == "text", let piece = part["text"]?.asString else {
                    throw .unsupported("\(param)[\(index)]", "only text parts ({\"type\":\"text\",\"text\":...}) are accepted")
                }
                text += piece
            }
            return text
        default: throw .invalid("\(param) must be a string or an array of text parts", param: param)
        }
    }

    /// An assistant message's `tool_calls`.
    private static func calls(_ value: JSONValue, _ param: String) throws(OpenAIError) -> [ToolCallRequest] {
        guard let items = value.asArray else { throw .invalid("\(param) must be an array", param: param) }
        return try items.enumerated().map { (index, item) throws(OpenAIError) in
            let at = "\(param)[\(index)]"
            guard let id = item["id"]?.asString, let function = item["function"], let name = function["name"]?.asString,
                let arguments = function["arguments"]?.asString
            else { throw .invalid("\(at) needs id and function {name, arguments}", param: at) }
            return ToolCallRequest(id: id, name: name, arguments: arguments)
        }
    }

    /// `tools`: functions only, each with a name and a JSON Schema of its parameters.
    private static func tools(_ value: JSONValue) throws(OpenAIError) -> [ToolDefinition] {
        guard let items = value.asArray else { throw .invalid("tools must be an array", param: "tools") }
        return try items.enumerated().map { (index, item) throws(OpenAIError) in
            let at = "tools[\(index)]"
            guard item["type"]?.asString == "function" else { throw .unsupported("\(at).type", "only function tools are supported") }
            guard let function = item["function"], let name = function["name"]?.asString, !name.isEmpty else {
                throw .invalid("\(at).function.name is required", param: "\(at).function.name", code: "missing_required_parameter")
            }
            let parameters = function["parameters"] ?? .object([("type", .string("object")), ("properties", .object([]))])
            guard case .object = parameters else { throw .invalid("\(at).function.parameters must be a JSON Schema object", param: "\(at).function.parameters") }
            return ToolDefinition(name: name, description: function["description"]?.asString ?? "", parameters: parameters.jsonText)
        }
    }

    /// `tool_choice`: none, auto, required, or one named function (required, and the only tool offered).
    private static func apply(_ choice: JSONValue, to parameters: inout InferenceParameters) throws(OpenAIError) {
        switch choice {
        case .string("auto"): parameters.toolChoice = .auto
        case .string("none"): parameters.toolChoice = .none
        case .string("required"): parameters.toolChoice = .required
        case .object:
            guard choice["type"]?.asString == "function", let name = choice["function"]?["name"]?.asString else {
                throw .invalid("tool_choice must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}", param: "tool_choice")
            }
            guard let tool = parameters.tools.first(where: { $0.name == name }) else {
                throw .invalid("tool_choice names \(name.prefix(60)), which is not in tools", param: "tool_choice")
            }
            parameters.tools = [tool]
            parameters.toolChoice = .required
        default:
            throw .invalid("tool_choice must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}", param: "tool_choice")
        }
        if parameters.tools.isEmpty, parameters.toolChoice != .auto {
            throw .invalid("tool_choice needs tools", param: "tool_choice")
        }
    }

    /// `response_format`: text, or json_schema (the output is constrained to the schema).
    private static func responseFormat(_ value: JSONValue) throws(OpenAIError) -> OutputConstraint? {
        switch value["type"]?.asString {
        case "text": return nil
        case "json_schema":
            guard let schema = value["json_schema"]?["schema"], case .object = schema else {
                throw .invalid("response_format.json_schema.schema must be a JSON Schema object", param: "response_format.json_schema.schema")
            }
            return .jsonSchema(schema.jsonText)
        case "json_object":
            throw .unsupported("response_format.type", "json_object is not supported: give json_schema with the object's schema")
        default:
            throw .invalid("response_format.type must be text or json_schema", param: "response_format.type")
        }
    }
}
