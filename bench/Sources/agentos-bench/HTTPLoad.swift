import AsyncHTTPClient
import ControlAPI
import ControlClient
import Foundation
import NIOCore

/// The HTTP client that drives inference load, on the kernel's socket and on
/// llama-server alike, so both are measured through the same client.
///
/// Not `ControlClient`: it uses `HTTPClient.shared`, which opens at most 8
/// connections per host and queues further requests in the client, while
/// these benchmarks keep up to 17 requests in flight.
enum HTTPLoad {
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        return HTTPClient(configuration: configuration)
    }()

    /// A streamed inference as the client saw it: monotonic nanoseconds.
    struct TimedInference {
        var submitted: UInt64
        /// When each piece arrived (one per generated token for ASCII output).
        var pieces: [UInt64]
        var finished: UInt64
        var result: InferResult
    }

    /// `POST /v1/infer` to the kernel at `home`, waiting for the whole result.
    static func infer(_ request: InferRequest, on home: AgentOSHome) async throws -> InferResult {
        var request = request
        request.stream = false
        let body = try await post(kernelURL(home), ControlJSON.encoder().encode(request)).body.collect(upTo: 16 << 20)
        return try ControlJSON.decoder().decode(InferResult.self, from: Data(body.readableBytesView))
    }

    /// `POST /v1/infer` streamed, noting when each piece arrives.
    static func inferTimed(_ request: InferRequest, on home: AgentOSHome) async throws -> TimedInference {
        var request = request
        request.stream = true
        let submitted = now()
        let response = try await post(kernelURL(home), ControlJSON.encoder().encode(request))
        var pieces: [UInt64] = []
        var pending = ByteBuffer()
        for try await var chunk in response.body {
            let arrived = now()
            pending.writeBuffer(&chunk)
            while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending.readSlice(length: newline - pending.readerIndex)!
                pending.moveReaderIndex(forwardBy: 1)
                let event = try ControlJSON.decoder().decode(InferStreamEvent.self, from: Data(line.readableBytesView))
                if let error = event.error { throw BenchError("the kernel failed an inference: \(error.message)") }
                if event.piece != nil { pieces.append(arrived) }
                if let result = event.result {
                    return TimedInference(submitted: submitted, pieces: pieces, finished: arrived, result: result)
                }
            }
        }
        throw BenchError("the kernel ended an inference stream without a result")
    }

    /// `POST /v1/chat/completions` to llama-server on `port`; returns the tokens it generated.
    /// Tokens of one request: prompt, of those taken from a cache, and generated.
    struct TokenCounts: Sendable {
        var prompt = 0
        var cached = 0
        var completion = 0

        static func + (a: TokenCounts, b: TokenCounts) -> TokenCounts {
            TokenCounts(prompt: a.prompt + b.prompt, cached: a.cached + b.cached, completion: a.completion + b.completion)
        }
    }

    static func chatCompletion(port: Int, system: String, prompt: String, maxTokens: Int, seed: UInt64) async throws -> TokenCounts {
        let request = ChatRequest(
            messages: [.init(role: "system", content: system), .init(role: "user", content: prompt)],
            maxTokens: maxTokens, temperature: 0, seed: seed)
        let body = try await post("http://127.0.0.1:\(port)/v1/chat/completions", JSONEncoder().encode(request)).body.collect(upTo: 16 << 20)
        let usage = try JSONDecoder().decode(ChatResponse.self, from: Data(body.readableBytesView)).usage
        return TokenCounts(prompt: usage.promptTokens, cached: usage.promptTokensDetails?.cachedTokens ?? 0, completion: usage.completionTokens)
    }

    /// True when a GET of `url` answers 200.
    static func isOK(_ url: String) async -> Bool {
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return response.status == .ok
    }

    /// Monotonic nanoseconds.
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private static func kernelURL(_ home: AgentOSHome) throws -> String {
        guard let url = URL(httpURLWithSocketPath: home.socketPath, uri: "/v1/infer") else {
            throw BenchError("cannot build a URL for socket \(home.socketPath)")
        }
        return url.absoluteString
    }

    private static func post(_ url: String, _ body: Data) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else {
            let text = try await response.body.collect(upTo: 1 << 20)
            throw BenchError("POST \(url) answered \(response.status): \(String(buffer: text))")
        }
        return response
    }

    private struct ChatRequest: Encodable {
        var messages: [InferRequest.Message]
        var maxTokens: Int
        var temperature: Float
        var seed: UInt64

        enum CodingKeys: String, CodingKey {
            case messages, temperature, seed
            case maxTokens = "max_tokens"
        }
    }

    private struct ChatResponse: Decodable {
        struct Usage: Decodable {
            struct Details: Decodable {
                var cachedTokens: Int?
                enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
            }
            var promptTokens: Int
            var completionTokens: Int
            var promptTokensDetails: Details?
            enum CodingKeys: String, CodingKey {
                case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", promptTokensDetails = "prompt_tokens_details"
            }
        }
        var usage: Usage
    }
}
