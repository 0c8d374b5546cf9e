import Foundation
import MCP

/// Builds swift-sdk `Server`s that offer an `MCPToolSource`'s tools:
/// `tools/list` with each tool's JSON Schema as `inputSchema`, and
/// `tools/call`, whose result is the tool's JSON as one text content.
public enum MCPToolServer {
    /// The name and version the server gives in `initialize`.
    public static let name = "agentos"

    /// A server answering `initialize`, `ping`, `tools/list` and `tools/call`
    /// from `source`. Not strict: a stateless HTTP request may call a tool
    /// without a prior `initialize` on the same server. Start it on a transport.
    public static func make(source: any MCPToolSource, version: String) async -> Server {
        let server = Server(
            name: name, version: version, capabilities: .init(tools: .init(listChanged: false)),
            configuration: .default)
        await server.withMethodHandler(ListTools.self) { _ in
            let specs = try await source.tools()
            return ListTools.Result(tools: try specs.map(tool))
        }
        await server.withMethodHandler(CallTool.self) { parameters in
            let arguments = try argumentsText(parameters.arguments)
            switch await source.call(parameters.name, arguments: arguments) {
            case .result(let json):
                return CallTool.Result(content: [.text(text: json, annotations: nil, _meta: nil)], isError: false)
            case .failed(let message):
                return CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
            case .refused(let refusal):
                throw refusal.code == -32602
                    ? MCPError.invalidParams(refusal.message)
                    : MCPError.serverError(code: refusal.code, message: refusal.message)
            }
        }
        return server
    }

    /// An MCP tool from a spec; throws when its schema is not JSON (a kernel bug, reported as an internal error).
    static func tool(_ spec: MCPToolSpec) throws -> Tool {
        let schema: Value
        do {
            schema = try JSONDecoder().decode(Value.self, from: Data(spec.inputSchema.utf8))
        } catch {
            throw MCPError.internalError("the schema of \(spec.name) is not JSON: \(error)")
        }
        return Tool(name: spec.name, description: spec.description, inputSchema: schema)
    }

    /// The call's arguments as JSON text ("{}" when absent).
    static func argumentsText(_ arguments: [String: Value]?) throws -> String {
        guard let arguments else { return "{}" }
        do {
            return String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self)
        } catch {
            throw MCPError.invalidParams("the arguments cannot be written as JSON: \(error)")
        }
    }
}
