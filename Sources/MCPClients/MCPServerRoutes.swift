import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The external MCP servers on the control socket (`agentctl mcp add|ls|rm`):
///
///     POST   /v1/mcp/servers        AddMCPServerRequest → MCPServerInfo (201), once it started and listed its tools
///     GET    /v1/mcp/servers        → [MCPServerInfo]
///     DELETE /v1/mcp/servers/NAME   → MCPServerInfo of the removed server
public enum MCPServerRoutes {
    public static func add(to v1: RouterGroup<BasicRequestContext>, servers: MCPServerSet) {
        v1.post("mcp/servers") { request, _ in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let body: AddMCPServerRequest
            do {
                body = try ControlJSON.decoder().decode(AddMCPServerRequest.self, from: buffer)
            } catch {
                throw KernelError(.invalidArgument, "body is not a valid AddMCPServerRequest: \(error)")
            }
            let info = try await servers.add(body)
            return try json(info, status: .created)
        }
        v1.get("mcp/servers") { _, _ in try json(servers.all) }
        v1.delete("mcp/servers/:name") { _, context in
            try json(try await servers.remove(try context.parameters.require("name")))
        }
    }

    private static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try ControlJSON.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
