/// POST /v1/mcp/servers: registers an external MCP server, started as a
/// process (`agentctl mcp add NAME -- COMMAND ARGS...`) or reached at a URL
/// (`agentctl mcp add NAME --url URL`). Also one entry of `$AGENTOS_HOME/mcp-servers.json`.
public struct AddMCPServerRequest: Codable, Sendable, Equatable {
    /// Its tools become kernel tools NAME.TOOL.
    public var name: String
    /// The program and its arguments; it speaks MCP on stdin and stdout. Empty for a URL server.
    public var command: [String]
    /// A Streamable HTTP server's endpoint (http or https), in place of a command.
    public var url: String?
    /// HTTP headers sent with every request to `url` (e.g. Authorization).
    public var headers: [String: String]?

    public init(name: String, command: [String], url: String? = nil, headers: [String: String]? = nil) {
        self.name = name
        self.command = command
        self.url = url
        self.headers = headers
    }
}

/// One external MCP server, as `agentctl mcp ls` shows it.
public struct MCPServerInfo: Codable, Sendable, Equatable {
    public var name: String
    /// Empty for a URL server.
    public var command: [String]
    /// A URL server's endpoint.
    public var url: String?
    /// starting, running, restarting or stopped.
    public var state: String
    /// A stdio server's process id while it runs.
    public var pid: Int32?
    /// The kernel tools it offers, NAME.TOOL.
    public var tools: [String]
    /// Its tools the kernel cannot offer, each "TOOL: why".
    public var skipped: [String]
    /// How many times it was started (or connected) again.
    public var restarts: Int
    /// Why it last failed to start or stopped, if it did.
    public var lastError: String?

    public init(
        name: String, command: [String], url: String? = nil, state: String, pid: Int32?, tools: [String], skipped: [String],
        restarts: Int, lastError: String?
    ) {
        self.name = name
        self.command = command
        self.url = url
        self.state = state
        self.pid = pid
        self.tools = tools
        self.skipped = skipped
        self.restarts = restarts
        self.lastError = lastError
    }
}
