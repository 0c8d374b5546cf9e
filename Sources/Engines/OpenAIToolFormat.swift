import KernelCore

/// How the OpenAI engine offers tools to the server (`agentosd --engine-tools`).
///
/// Many OpenAI-compatible servers drop `tools` without a word when the
/// model's chat template has no tool support (llama-server with SmolLM2's own
/// template): the model then answers in prose. `kernel` does not rely on the
/// server: it writes the tools into the prompt in the embedded engine's own
/// format (`HermesToolFormat`) and holds the answer to the same grammar, sent
/// as llama-server's per-request `grammar`.
public enum OpenAIToolFormat: String, Sendable, CaseIterable {
    /// OpenAI `tools` and `tool_choice`; the server renders and parses the calls.
    case native
    /// The tools in the prompt and a grammar for the answer; the kernel parses the calls.
    case kernel
    /// `native` until a request that required a call comes back without one,
    /// then that request again and every later one as `kernel`.
    case auto

    /// `parameters` rewritten for the kernel format: the tools described in
    /// the system turn, earlier calls written out, no `tools` on the wire, and
    /// the tool grammar as the constraint. Throws `.invalidSchema` like the embedded engine.
    static func kernelParameters(_ parameters: InferenceParameters) throws(KernelError) -> InferenceParameters {
        var rewritten = parameters
        rewritten.messages = HermesToolFormat.messages(for: parameters).map { message in
            // Servers' templates know system, user and assistant; a result goes back as the user's turn.
            guard message.role == "tool" else { return message }
            return ChatMessage(role: "user", content: "<tool_response>\n\(message.content)\n</tool_response>")
        }
        rewritten.constraint = .grammar(try HermesToolFormat.grammar(for: parameters))
        rewritten.tools = []
        rewritten.toolChoice = .auto
        return rewritten
    }

    /// The calls in an answer written in the kernel format; nil when it is not a complete call.
    static func calls(in text: String, turn: Int) -> [ToolCallRequest]? {
        guard text.hasPrefix("<") else { return nil }
        return HermesToolFormat.calls(in: text, turn: turn)
    }
}
