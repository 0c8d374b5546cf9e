import ControlAPI
import ControlClient
import Foundation
import MCPTools

/// The kernel's tools as `agentctl mcp serve` offers them: those matching
/// `pattern` (a glob, as the kernel matches tool names), listed and called
/// over the control socket. Thread-safe (immutable).
struct ControlToolSource: MCPToolSource {
    let client: ControlClient
    let pattern: String
    let timeoutMs: UInt32

    func tools() async throws -> [MCPToolSpec] {
        try await client.tools(matching: pattern).map {
            MCPToolSpec(name: $0.name, description: $0.description, inputSchema: $0.parameters)
        }
    }

    func call(_ name: String, arguments: String) async -> MCPToolOutcome {
        guard fnmatch(pattern, name, 0) == 0 else {
            return .refused(.denied("\(name.prefix(128)) is not offered here (agentctl mcp serve --tools \(pattern))"))
        }
        do {
            return .result(try await client.callTool(name, arguments: arguments, timeoutMs: timeoutMs).result)
        } catch ControlClientError.api(_, let code, let message) {
            switch ErrorCode(rawValue: code) {
            case .toolNotFound?: return .refused(.unknownTool(message))
            case .permissionDenied?: return .refused(.denied(message))
            case .quotaExceeded?: return .refused(.overQuota(message))
            default: return .failed(message)
            }
        } catch {
            return .failed("\(error)")
        }
    }
}
