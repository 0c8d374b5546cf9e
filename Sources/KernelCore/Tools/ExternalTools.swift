import StrictJSON

/// Tools the kernel offers that no plugin provides: the tools of an external
/// MCP server (`agentctl mcp add`). They are named `PREFIX.TOOL` and go
/// through the same capability, quota, audit and metrics path as plugin tools
/// (`ToolService.callTool`); only the call itself is the provider's.
/// Implementations are called from any thread, concurrently.
public protocol ExternalToolProvider: AnyObject, Sendable {
    /// Calls `tool` (its own name, without the prefix) with `arguments` (JSON
    /// text of an object), blocking the calling thread until it returns or
    /// `deadline` (monotonic ns; nil = the provider's own limit) passes.
    /// Returns the result as JSON text, or a `KernelError`: `.toolFailed` (the
    /// tool's own error), `.timedOut`, `.unreachable` (the server is down).
    func call(_ tool: String, arguments: String, deadline: UInt64?) -> Result<String, KernelError>
}

/// One tool of an external provider.
public struct ExternalTool: Sendable {
    /// Its own name, without the prefix.
    public let name: String
    public let description: String
    /// The JSON Schema of its arguments object.
    public let parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}
