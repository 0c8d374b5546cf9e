import StrictJSON

/// A tool as `agentctl tools` and `tools_list` describe it.
public struct ToolDescription: Sendable {
    public let name: String
    public let description: String
    /// The JSON Schema of its arguments object.
    public let parameters: JSONValue
    public let returns: String
    public let threadSafe: Bool
    /// A call the model makes in a tool loop waits for the operator (AOS_TOOL_NEEDS_APPROVAL).
    public let needsApproval: Bool
    /// The instance that provides it.
    public let plugin: String
    public let calls: UInt64
    public let failures: UInt64
    public let totalSeconds: Double

    /// The OpenAI function-tool shape: {"type": "function", "function": {name, description, parameters}}.
    public var openAIFunction: JSONValue {
        .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string(name)), ("description", .string(description)), ("parameters", parameters),
            ])),
        ])
    }
}
