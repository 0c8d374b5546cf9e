import Foundation
import HTTPTypes
import Hummingbird
import KernelCore
import MCP
import MCPTools
import NIOCore

/// The kernel's tools over MCP's Streamable HTTP at `/mcp` on `--api-addr`,
/// stateless: each POST is one JSON-RPC message answered with one JSON body
/// (no session, no server-sent events; GET and DELETE are 405).
///
/// Every request needs `Authorization: Bearer KEY`; the key is the caller
/// (`KeyToolSource`: its `tool:GLOB` grants, its quota, its audit records).
/// Each request gets its own swift-sdk `Server` on a `StatelessHTTPServerTransport`,
/// so concurrent clients never share JSON-RPC ids or initialization state.
enum MCPRoute {
    static func add(to router: Router<BasicRequestContext>, api: OpenAIAPI, version: String) {
        let quota = KeyToolQuota()
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("mcp", method: method) { request, _ in
                let key: APIKey
                do throws(OpenAIError) { key = try api.authenticate(request) } catch { return unauthorized(error.message) }
                let body = method == .post ? try await request.body.collect(upTo: api.bodyLimit) : nil
                let source = KeyToolSource(kernel: api.kernel, key: key, quota: quota)
                return try await serve(request, body: body, source: source, version: version)
            }
        }
    }

    /// Answers one HTTP request with a fresh server over `source`.
    private static func serve(_ request: Request, body: ByteBuffer?, source: KeyToolSource, version: String) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let message = MCP.HTTPRequest(
            method: request.method.rawValue, headers: headers, body: body.map { Data(buffer: $0) }, path: request.uri.path)
        let transport = StatelessHTTPServerTransport(validationPipeline: StandardValidationPipeline(validators: [
            AcceptHeaderValidator(mode: .jsonOnly), ContentTypeValidator(), ProtocolVersionValidator(),
        ]))
        let server = await MCPToolServer.make(source: source, version: version)
        try await server.start(transport: transport)
        let answer = await transport.handleRequest(message)
        await server.stop()
        return response(answer)
    }

    private static func response(_ answer: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        let body = answer.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
        return Response(status: .init(code: answer.statusCode), headers: fields, body: body)
    }

    /// 401 with a JSON-RPC error body and the Bearer challenge.
    private static func unauthorized(_ message: String) -> Response {
        let answer = MCP.HTTPResponse.error(
            statusCode: 401, .serverError(code: -32001, message: message), extraHeaders: ["WWW-Authenticate": "Bearer"])
        return response(answer)
    }
}
