import MCP

/// What an MCP server of the kernel's tools serves: the tools one caller may
/// call, and calls on that caller's behalf. The source does every check
/// (capability, quota, audit); the server only speaks the protocol.
/// Implementations are called from any task, concurrently.
public protocol MCPToolSource: Sendable {
    /// The tools the caller may call. Throws when the kernel cannot be asked.
    func tools() async throws -> [MCPToolSpec]

    /// Calls tool `name` with `arguments` (JSON text of an object).
    func call(_ name: String, arguments: String) async -> MCPToolOutcome
}

/// One tool as MCP lists it.
public struct MCPToolSpec: Sendable, Equatable {
    /// "PLUGIN.TOOL".
    public var name: String
    public var description: String
    /// The JSON Schema of its arguments object, as JSON text.
    public var inputSchema: String

    public init(name: String, description: String, inputSchema: String) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
    }
}

/// How a call ended.
public enum MCPToolOutcome: Sendable, Equatable {
    /// The tool's result, as JSON text.
    case result(String)
    /// The call was made (or its arguments checked) and failed: a result with
    /// `isError`, whose text the model can read and act on (MCP's tool execution error).
    case failed(String)
    /// The call was refused before it ran: no such tool, not permitted, over
    /// quota (a JSON-RPC error; MCP's protocol error).
    case refused(MCPToolRefusal)
}

/// A refusal's JSON-RPC error.
public struct MCPToolRefusal: Sendable, Equatable {
    /// JSON-RPC error code: -32602 (invalid params) for an unknown tool, or one
    /// of the kernel's own below.
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// No such tool (JSON-RPC invalid params, as the MCP specification asks).
    public static func unknownTool(_ message: String) -> MCPToolRefusal { .init(code: -32602, message: message) }
    /// The caller lacks the tool's capability.
    public static func denied(_ message: String) -> MCPToolRefusal { .init(code: permissionDeniedCode, message: message) }
    /// The caller is over its tool_calls_per_minute quota.
    public static func overQuota(_ message: String) -> MCPToolRefusal { .init(code: quotaExceededCode, message: message) }

    /// The kernel's JSON-RPC error codes (server errors, -32000 to -32099).
    public static let permissionDeniedCode = -32003
    public static let quotaExceededCode = -32029
}
