import KernelCore
import StrictJSON

/// The chat-completions wire format that OpenAI, llama-server, vLLM and Ollama
/// speak: request bodies here, stream chunks and error bodies in
/// `OpenAIChatStream.swift`, tools in `OpenAITools`.
enum OpenAIChat {
    /// A request made ready for the wire once, when it is submitted
    /// (`OpenAIEngine.prepare`): its encoded body, and the wire names of its
    /// tools to read the model's calls back by. Immutable.
    struct PreparedRequest: PreparedInference {
        let body: [UInt8]
        let names: OpenAITools.Names
        /// The tools went into the prompt (`OpenAIToolFormat.kernel`): the kernel reads the calls from the text.
        var kernelTools = false
    }

    /// The JSON body of a streamed chat completion for `parameters`, tools named as `names` says.
    /// Throws `.invalidSchema` when the output's JSON Schema or a tool's parameters are not a JSON object.
    static func body(for parameters: InferenceParameters, model: String, names: OpenAITools.Names) throws(KernelError) -> [UInt8] {
        // Without a system turn, chat templates such as SmolLM2's add their own: send the embedded engine's.
        var messages = parameters.messages
        if messages.first?.role != "system" { messages.insert(ChatMessage(role: "system", content: LlamaModel.defaultSystemPrompt), at: 0) }
        var body: [(key: String, value: JSONValue)] = [
            ("model", .string(model)),
            ("messages", .array(messages.map { OpenAITools.message($0, names: names) })),
            ("max_tokens", .integer(Int64(parameters.maxTokens))),
            ("temperature", .number(decimal(parameters.temperature))),
            ("top_p", .number(decimal(parameters.topP))),
            ("seed", .integer(Int64(UInt32(truncatingIfNeeded: parameters.seed)))),  // as the embedded engine seeds its sampler
            ("stream", .bool(true)),
            ("stream_options", .object([("include_usage", .bool(true))])),
        ]
        if !parameters.stop.isEmpty { body.append(("stop", .array(parameters.stop.map(JSONValue.string)))) }
        switch parameters.constraint {
        case .grammar(let grammar)?:
            body.append(("grammar", .string(grammar)))
        case .jsonSchema(let schema)?:
            guard let parsed = jsonObject(schema) else { throw KernelError(.invalidSchema, "the JSON Schema is not a JSON object") }
            let format: JSONValue = .object([("name", .string("output")), ("schema", parsed), ("strict", .bool(true))])
            body.append(("response_format", .object([("type", .string("json_schema")), ("json_schema", format)])))
        case nil:
            break
        }
        if !parameters.tools.isEmpty {
            body.append(("tools", .array(try OpenAITools.definitions(parameters.tools, names: names))))
            body.append(("tool_choice", .string(parameters.toolChoice.rawValue)))  // "auto", "required" or "none", as OpenAI spells them
        }
        return Array(JSONValue.object(body).jsonText.utf8)
    }

    /// `text` parsed when it is a JSON object; nil when it is not JSON, or JSON of another kind.
    static func jsonObject(_ text: String) -> JSONValue? {
        guard let value = try? JSONParser.parse(text), case .object = value else { return nil }
        return value
    }

    /// 0.7 as 0.7 rather than the Float's 0.699999988.
    private static func decimal(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }
}
