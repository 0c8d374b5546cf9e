import ControlAPI
import NIOHTTP1

/// External MCP servers: `agentctl mcp add|ls|rm`.
extension ControlClient {
    /// Registers and starts a server; answers once it listed its tools.
    public func addMCPServer(_ request: AddMCPServerRequest) async throws -> MCPServerInfo {
        try await call(.POST, "/v1/mcp/servers", body: request)
    }

    /// Every registered server.
    public func mcpServers() async throws -> [MCPServerInfo] {
        try await call(.GET, "/v1/mcp/servers")
    }

    /// Stops and forgets server `name`.
    public func removeMCPServer(_ name: String) async throws -> MCPServerInfo {
        try await call(.DELETE, "/v1/mcp/servers/\(pathSegment(name))")
    }
}
