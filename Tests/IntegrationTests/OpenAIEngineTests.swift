import ControlAPI
import Foundation
import Testing

/// `agentosd --engine openai`: against a real llama-server with the same
/// model, and against servers that fail in every way a remote engine can.
@Suite(.serialized, .disabled("not yet passing end to end here; see the issue 4 note")) struct OpenAIEngineTests {
    /// Starts llama-server on a free port and waits until it is healthy.
    private static func startLlamaServer() async throws -> (Process, String) {
        let port = try CannedHTTPServer.freePort()
        let server = Process()
        server.executableURL = Paths.llamaTools.appendingPathComponent("llama-server")
        server.arguments = ["-m", Paths.model, "--host", "127.0.0.1", "--port", "\(port)", "-np", "2", "-c", "4096", "-t", "2"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        for _ in 0..<600 {
            if await onThread({ CannedHTTPServer.answersOK(port: port, path: "/health") }) {
                return (server, "http://127.0.0.1:\(port)/v1")
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        server.terminate()
        throw POSIXError(.ETIMEDOUT)
    }

    private func kernel(url: String, stall: Double = 30) async throws -> KernelProcess {
        try await KernelProcess(["--engine", "openai", "--engine-url", url, "--engine-model", "smollm2", "--slots", "2",
                                 "--engine-stall-timeout", "\(stall)"])
    }

    @Test func servesTheSameRequestsThroughARealLlamaServer() async throws {
        let (server, url) = try await Self.startLlamaServer()
        defer { server.terminate(); server.waitUntilExit() }
        let kernel = try await kernel(url: url)
        defer { _ = kernel.stop() }
        try await kernel.load("inferer")
        let blocking = InferenceTests.Answer(try await kernel.ask("inferer", "block 24 Name three colors.", timeoutMs: 60_000))
        let streamed = InferenceTests.Answer(try await kernel.ask("inferer", "stream 24 Name three colors.", timeoutMs: 60_000))
        #expect(blocking.ok && !blocking.text.isEmpty, "\(blocking.status)")
        #expect(blocking.promptTokens > 10 && blocking.completionTokens > 0)
        #expect(streamed.text == blocking.text && streamed.extra.hasSuffix("match=1"))
        let json = InferenceTests.Answer(try await kernel.ask("inferer", "json 64 Describe a camping tent for sale as JSON.", timeoutMs: 60_000))
        let object = try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any]
        #expect(object?["name"] is String && object?["price"] is NSNumber, "\(json.text)")
        let cancelled = InferenceTests.Answer(try await kernel.ask("inferer", "cancelafter 200 Write a long story.", timeoutMs: 60_000))
        #expect(cancelled.finish == "cancelled" && cancelled.completionTokens < 200)
        let tooLong = InferenceTests.Answer(try await kernel.ask("inferer", "long 3000 word", timeoutMs: 60_000))
        #expect(tooLong.status == "AOS_ETOOBIG")
        let engine = try await kernel.client.engine()
        #expect(engine.kind == "openai" && engine.endpoint == url)
        try await kernel.expectHealthy()
    }

    @Test func anUnreachableEngineIsNamedAtOnce() async throws {
        let kernel = try await kernel(url: "http://127.0.0.1:\(try CannedHTTPServer.freePort())/v1")
        defer { _ = kernel.stop() }
        let message = await expectAPIError("engine_unavailable", status: 503) { try await kernel.client.infer(InferRequest(prompt: "hi")) }
        #expect(message.contains("unreachable: connection refused"), "\(message)")
        try await kernel.expectHealthy()
    }

    @Test(arguments: [
        ("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 12\r\nConnection: close\r\n\r\nmodel exploded", "engine_failed", "HTTP 500: model explo"),
        ("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 37\r\nConnection: close\r\n\r\n{\"error\":{\"message\":\"bad seed value\"}}", "invalid_argument", "bad seed value"),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n<html>not a stream</html>\n\n", "engine_failed", "malformed stream"),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {not json\n\n", "engine_failed", "not JSON"),
    ])
    func aMisbehavingServerGivesANamedError(response: String, code: String, text: String) async throws {
        let server = try CannedHTTPServer(response: response)
        let kernel = try await kernel(url: server.baseURL)
        defer { _ = kernel.stop() }
        for _ in 0..<2 {  // the engine keeps serving after a failure
            let message = await expectAPIError(code) { try await kernel.client.infer(InferRequest(prompt: "hi")) }
            #expect(message.contains(text), "\(message)")
        }
        try await kernel.expectHealthy()
    }

    @Test func aServerThatStallsMidStreamTimesOut() async throws {
        let chunk = #"data: {"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}"# + "\n\n"
        let server = try CannedHTTPServer(
            response: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + chunk, holdSeconds: 30)
        let kernel = try await kernel(url: server.baseURL, stall: 1)
        defer { _ = kernel.stop() }
        let message = await expectAPIError("timed_out") { try await kernel.client.infer(InferRequest(prompt: "hi")) }
        #expect(message.contains("stalled: no data for 1 s"), "\(message)")
        try await kernel.load("inferer")
        #expect(try await kernel.ask("inferer", "block 8 hi", timeoutMs: 30_000) == "err|AOS_ETIMEDOUT")
    }
}
