import AsyncHTTPClient
import ControlAPI
import Foundation
import NIOCore

extension FrontDoorBench {
    /// MCP `tools/call` of calculator.multiply (a libffi tool) at /mcp on
    /// `--api-addr` against the request `agentctl call` sends on the control
    /// socket (POST /v1/tools/NAME/call), interleaved, p50 of each. No model.
    func mcpToolCall(into table: inout ResultTable) async throws {
        let port = try tools.freeLoopbackPort()
        try await BenchKernel.with(agentosd: agentosd, ["--engine", "none", "--api-addr", "127.0.0.1:\(port)"]) { kernel in
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/calculator.so"))
            let key = try await kernel.client.createKey(CreateKeyRequest(name: "bench", grants: ["tool:calculator.*"])).key
            let url = "http://127.0.0.1:\(port)/mcp"
            let arguments = #"{"a": 12.5, "b": 4}"#
            _ = try await Self.mcpCall(url, key: key, id: 0, arguments: arguments)
            _ = try await kernel.client.callTool("calculator.multiply", arguments: arguments)
            let rounds = max(runs, 5) * 200
            var viaMCP: [Double] = []
            var viaSocket: [Double] = []
            for round in 1...rounds {
                var started = HTTPLoad.now()
                try await Self.mcpCall(url, key: key, id: round, arguments: arguments)
                viaMCP.append(Double(HTTPLoad.now() - started))
                started = HTTPLoad.now()
                let result = try await kernel.client.callTool("calculator.multiply", arguments: arguments)
                viaSocket.append(Double(HTTPLoad.now() - started))
                guard result.result == "50" else { throw BenchError("agentctl's call answered \(result.result)") }
            }
            table.add("MCP tools/call of a libffi tool via /mcp, p50", agentos: viaMCP.median, baseline: viaSocket.median, unit: .nanoseconds,
                      baselineIs: "what `agentctl call` sends: POST /v1/tools/calculator.multiply/call on the control socket (\(rounds) interleaved)",
                      goal: "report", lowerIsBetter: true, showsDifference: true)
        }
    }

    /// One stateless `tools/call` POST; throws unless it answered the product.
    private static func mcpCall(_ url: String, key: String, id: Int, arguments: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"calculator.multiply","arguments":\#(arguments)}}"#
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        let data = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok, data.contains(#""text":"50""#), data.contains(#""isError":false"#) else {
            throw BenchError("POST \(url) answered \(response.status): \(data)")
        }
    }
}
