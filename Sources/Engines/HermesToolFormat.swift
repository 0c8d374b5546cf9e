import KernelCore
import Tools
import StrictJSON

/// How the embedded engine offers tools to a model: the Hermes convention
/// that SmolLM2 and most small open models were tuned on. The tools go into
/// the system prompt as JSON inside `<tools>`; a call is written as
/// `<tool_call>{"name": …, "arguments": {…}}</tool_call>`; a result comes
/// back as a "tool" turn. JSON is spaced the way json.dumps writes it, as in training.
///
/// A grammar holds the model to that shape: either a call of an offered tool
/// whose arguments match its schema, or (unless a call is required) an answer
/// that does not start with `<`. So the first character tells a call from an
/// answer, and the engine can stream answers while holding calls back.
enum HermesToolFormat {
    /// The chat with the tools described in the system turn and earlier calls written out.
    static func messages(for parameters: InferenceParameters) -> [ChatMessage] {
        let catalog = parameters.tools.map { tool in
            JSONValue.object([
                ("name", .string(tool.name)), ("description", .string(tool.description)),
                ("parameters", (try? JSONParser.parse(tool.parameters)) ?? .object([])),
            ]).spacedText
        }.joined(separator: "\n")
        let instructions = """
            You may call functions. Here they are, in JSON:
            <tools>
            \(catalog)
            </tools>
            To call a function, answer only with
            <tool_call>
            {"name": <function-name>, "arguments": <args-json-object>}
            </tool_call>
            When a function result is given, do not call again: answer the user from it in plain words.
            """
        var messages = parameters.messages.map { message -> ChatMessage in
            if message.role == "tool", let result = try? JSONParser.parse(message.content) {
                return ChatMessage(role: "tool", content: result.spacedText)
            }
            guard let calls = message.toolCalls, !calls.isEmpty else { return message }
            return ChatMessage(role: message.role, content: calls.map(written).joined(separator: "\n"))
        }
        if let first = messages.first, first.role == "system" {
            messages[0].content = first.content + "\n\n" + instructions
        } else {
            messages.insert(ChatMessage(role: "system", content: LlamaModel.defaultSystemPrompt + "\n\n" + instructions), at: 0)
        }
        return messages
    }

    /// A GBNF grammar admitting a call of one offered tool with arguments its
    /// schema accepts, or, unless a call is required, an answer.
    /// Throws `.invalidSchema` naming the tool whose schema cannot be followed.
    static func grammar(for parameters: InferenceParameters) throws(KernelError) -> String {
        if parameters.toolChoice == .none { return "root ::= [^<] .*" }
        var alternatives: [String] = []
        for tool in parameters.tools {
            alternatives.append(#"{"type": "object", "properties": {"name": {"const": \#(JSONValue.quoted(tool.name))}, "arguments": \#(tool.parameters)}, "required": ["name", "arguments"], "additionalProperties": false}"#)
        }
        let schema = #"{"type": "object", "anyOf": [\#(alternatives.joined(separator: ", "))]}"#
        let call: String
        do {
            call = try JSONSchemaGrammar.grammar(fromSchema: schema)
        } catch {
            throw KernelError(.invalidSchema, "the tools' argument schemas cannot be turned into a grammar: \(error.message)")
        }
        // Rename the call's root so the grammar's own root can choose between a call and an answer,
        // and space the JSON exactly as json.dumps does (", " and ": ", nothing else), the way
        // calls looked in the model's training: free whitespace lets a small model drift.
        let renamed = ("tool-call-json ::=" + call.dropFirst("root ::=".count))
            .replacingOccurrences(of: #"":" space"#, with: #"": ""#)
            .replacingOccurrences(of: #""," space"#, with: #"", ""#)
            .split(separator: "\n").map { $0.hasPrefix("space ::=") ? #"space ::= """# : $0 }.joined(separator: "\n")
        let answer = "answer ::= [^<] .*"
        switch parameters.toolChoice {
        case .required: return #"root ::= "<tool_call>\n" tool-call-json "\n</tool_call>""# + "\n" + renamed
        case .auto: return #"root ::= "<tool_call>\n" tool-call-json "\n</tool_call>" | answer"# + "\n" + answer + "\n" + renamed
        case .none: return "root ::= " + answer.dropFirst("answer ::= ".count)
        }
    }

    /// The calls in a generated text that began with `<` (the grammar's call branch);
    /// nil when it is not a complete call (cut off by max_tokens).
    static func calls(in text: String, turn: Int) -> [ToolCallRequest]? {
        guard let open = text.range(of: "<tool_call>"), let close = text.range(of: "</tool_call>", range: open.upperBound..<text.endIndex),
              case .object(let members)? = try? JSONParser.parse(String(text[open.upperBound..<close.lowerBound])),
              case .string(let name)? = members.first(where: { $0.key == "name" })?.value,
              let arguments = members.first(where: { $0.key == "arguments" })?.value
        else { return nil }
        return [ToolCallRequest(id: "call_\(turn)_0", name: name, arguments: arguments.jsonText)]
    }

    private static func written(_ call: ToolCallRequest) -> String {
        let arguments = (try? JSONParser.parse(call.arguments)) ?? .object([])
        return "<tool_call>\n" + JSONValue.object([("name", .string(call.name)), ("arguments", arguments)]).spacedText + "\n</tool_call>"
    }
}
