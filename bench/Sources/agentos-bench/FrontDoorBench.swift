import AsyncHTTPClient
import ControlAPI
import Foundation
import NIOCore

/// The front-door rows: the OpenAI-compatible API (`--api-addr`) against the
/// control socket carrying the same request, and against llama-server with
/// 8 concurrent clients on the same model; MCP's tools/call against
/// `agentctl call` (`FrontDoorBench+MCP`).
struct FrontDoorBench {
    let agentosd: String
    /// build/plugins (calculator).
    let plugins: String
    let tools: LlamaTools
    let runs: Int

    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(configuration: configuration)
    }()

    func run(into table: inout ResultTable) async throws {
        try await mcpToolCall(into: &table)
        let port = try tools.freeLoopbackPort()
        let arguments = ["--model", tools.model, "--threads", "\(tools.threads)", "--slots", "8", "--ctx", "8192", "--api-addr", "127.0.0.1:\(port)"]
        try await BenchKernel.with(agentosd: agentosd, arguments) { kernel in
            let key = try await kernel.client.createKey(CreateKeyRequest(name: "bench", grants: ["infer"])).key
            let model = URL(fileURLWithPath: tools.model).deletingPathExtension().lastPathComponent
            let api = "http://127.0.0.1:\(port)/v1/chat/completions"

            // One short request, its prompt cached after the first: what the front door adds shows.
            let short = Prompts.request("Say yes.", agent: "key:bench", maxTokens: 4)
            _ = try await HTTPLoad.infer(short, on: kernel.home)
            _ = try await Self.chat(api, key: key, model: model, prompt: "Say yes.", maxTokens: 4)
            let rounds = max(runs, 5) * 6
            var viaAPI: [Double] = []
            var viaSocket: [Double] = []
            for _ in 0..<rounds {
                var started = HTTPLoad.now()
                _ = try await Self.chat(api, key: key, model: model, prompt: "Say yes.", maxTokens: 4)
                viaAPI.append(Double(HTTPLoad.now() - started))
                started = HTTPLoad.now()
                _ = try await HTTPLoad.infer(short, on: kernel.home)
                viaSocket.append(Double(HTTPLoad.now() - started))
            }
            table.add("chat completion via --api-addr, p50", agentos: viaAPI.median, baseline: viaSocket.median, unit: .nanoseconds,
                      baselineIs: "the same request as POST /v1/infer on the control socket (\(rounds) interleaved, 4 tokens)",
                      goal: "≤ baseline + 1 ms", lowerIsBetter: true, showsDifference: true)
        }

        // 8 clients, 2 requests each of 128 tokens, through the API vs llama-server.
        let clients = 8
        func measure(_ send: @escaping @Sendable (_ prompt: String) async throws -> Int) async throws -> Double {
            var figures: [Double] = []
            for run in 0..<max(1, runs) {
                let started = HTTPLoad.now()
                let tokens = try await withThrowingTaskGroup(of: Int.self) { group in
                    for client in 1...clients {
                        group.addTask {
                            var tokens = 0
                            for request in 0..<2 { tokens += try await send(Prompts.tagged(run: run, agent: client, request: request)) }
                            return tokens
                        }
                    }
                    return try await group.reduce(0, +)
                }
                figures.append(Double(tokens) / (Double(HTTPLoad.now() - started) / 1e9))
            }
            return figures.median
        }
        let apiPort = try tools.freeLoopbackPort()
        let agentos = try await BenchKernel.with(agentosd: agentosd, [
            "--model", tools.model, "--threads", "\(tools.threads)", "--slots", "\(clients)", "--ctx", "8192", "--api-addr", "127.0.0.1:\(apiPort)",
        ]) { kernel in
            let key = try await kernel.client.createKey(CreateKeyRequest(name: "bench", grants: ["infer"])).key
            let model = URL(fileURLWithPath: tools.model).deletingPathExtension().lastPathComponent
            let api = "http://127.0.0.1:\(apiPort)/v1/chat/completions"
            _ = try await Self.chat(api, key: key, model: model, prompt: Prompts.count, maxTokens: 8)
            return try await measure { prompt in try await Self.chat(api, key: key, model: model, prompt: prompt, maxTokens: 128) }
        }
        let server = try await tools.withServer(parallel: clients, context: 8192) { port in
            let url = "http://127.0.0.1:\(port)/v1/chat/completions"
            _ = try await Self.chat(url, key: nil, model: "default", prompt: Prompts.count, maxTokens: 8)
            return try await measure { prompt in try await Self.chat(url, key: nil, model: "default", prompt: prompt, maxTokens: 128) }
        }
        table.add("8 clients, chat completions via --api-addr", agentos: agentos, baseline: server, unit: .tokensPerSecond,
                  baselineIs: "llama-server -np 8 -cb, the same 8 HTTP clients", goal: "≥ 1.0×", lowerIsBetter: false)
    }

    /// One non-streamed chat completion; returns the tokens generated.
    private static func chat(_ url: String, key: String?, model: String, prompt: String, maxTokens: Int) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let body: [String: Any] = [
            "model": model, "max_tokens": maxTokens, "temperature": 0, "seed": 1,
            "messages": [["role": "system", "content": Prompts.system], ["role": "user", "content": prompt]],
        ]
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await client.execute(request, timeout: .seconds(3600))
        let data = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else { throw BenchError("POST \(url) answered \(response.status): \(String(buffer: data))") }
        let object = try JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any]
        guard let usage = object?["usage"] as? [String: Any], let tokens = usage["completion_tokens"] as? Int else {
            throw BenchError("POST \(url) answered without usage")
        }
        return tokens
    }
}
