/// POST /v1/mcp/servers: registers an external MCP server (`agentctl mcp add NAME -- COMMAND ARGS...`).
public struct AddMCPServerRequest: Codable, Sendable, Equatable {
    /// Its tools become kernel tools NAME.TOOL.
    public var name: String
    /// The program and its arguments; it speaks MCP on stdin and stdout.
    public var command: [String]

    public init(name: String, command: [String]) {
        self.name = name
        self.command = command
    }
}

/// One external MCP server, as `agentctl mcp ls` shows it.
public struct MCPServerInfo: Codable, Sendable, Equatable {
    public var name: String
    public var command: [String]
    /// starting, running, restarting or stopped.
    public var state: String
    public var pid: Int32?
    /// The kernel tools it offers, NAME.TOOL.
    public var tools: [String]
    /// Its tools the kernel cannot offer, each "TOOL: why".
    public var skipped: [String]
    /// How many times it was started again.
    public var restarts: Int
    /// Why it last failed to start or stopped, if it did.
    public var lastError: String?

    public init(
        name: String, command: [String], state: String, pid: Int32?, tools: [String], skipped: [String], restarts: Int,
        lastError: String?
    ) {
        self.name = name
        self.command = command
        self.state = state
        self.pid = pid
        self.tools = tools
        self.skipped = skipped
        self.restarts = restarts
        self.lastError = lastError
    }
}
