import AgentOSTesting
import Engines
import Foundation
import KernelCore
import Synchronization
import Testing

/// The OpenAI-compatible engine against scripted servers that fail in every
/// way a remote engine can, and against a real llama-server.
@Suite(.serialized) struct OpenAIEngineTests {
    /// An engine serving a FIFO scheduler.
    final class Harness: Sendable {
        let scheduler = InferenceScheduler(policy: .fifo)
        let engine: OpenAIEngine
        private let nextID = Atomic<UInt64>(1)

        init(_ configuration: OpenAIEngine.Configuration) {
            engine = OpenAIEngine(configuration: configuration)
            engine.start(serving: scheduler)
        }

        func submit(_ parameters: InferenceParameters) throws -> (InferenceRequest, Recorder) {
            let sink = Recorder()
            let request = InferenceRequest(
                id: nextID.add(1, ordering: .relaxed).oldValue, agent: "t", owner: 0, priority: 0,
                parameters: parameters, submittedAt: monotonicNanos(), sink: sink)
            try scheduler.submit(request)
            return (request, sink)
        }

        /// Submits `parameters` and waits for the outcome.
        func run(_ parameters: InferenceParameters, within seconds: Double = 60) async throws -> (Result<InferenceResult, KernelError>, Recorder) {
            let (_, sink) = try submit(parameters)
            return (try #require(await sink.outcome(within: seconds), "no outcome within \(seconds) s"), sink)
        }

        /// `engine.shutdown()`, which blocks, on a thread of its own.
        func shutdown() async {
            await withCheckedContinuation { continuation in
                Thread { [engine] in
                    engine.shutdown()
                    continuation.resume()
                }.start()
            }
        }
    }

    /// Runs `body` with an engine, shutting it down afterwards whatever happens.
    static func withEngine(_ configuration: OpenAIEngine.Configuration, _ body: (Harness) async throws -> Void) async throws {
        let harness = Harness(configuration)
        do {
            try await body(harness)
        } catch {
            await harness.shutdown()
            throw error
        }
        await harness.shutdown()
    }

    static func configuration(_ url: String, slots: Int = 2, stall: Double = 30) -> OpenAIEngine.Configuration {
        var configuration = OpenAIEngine.Configuration(baseURL: url, model: "test-model")
        configuration.slots = slots
        configuration.stallTimeout = stall
        return configuration
    }

    static func prompt(_ text: String, maxTokens: Int = 16) -> InferenceParameters {
        InferenceParameters(messages: [ChatMessage(role: "user", content: text)], maxTokens: maxTokens)
    }

    /// A `chat.completion.chunk` carrying `content` and `finish`.
    static func chunk(_ content: String?, finish: String? = nil) -> String {
        let delta: [String: Any] = content.map { ["content": $0] } ?? ["role": "assistant"]
        let object: [String: Any] = ["object": "chat.completion.chunk", "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { $0 as Any } ?? NSNull()]]]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static func usage(prompt: Int, completion: Int) -> String {
        #"{"choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion)}}"#
    }

    /// A well-formed reply: "Hi", stop, usage 3 + 1.
    static let goodReply = MisbehavingServer.Reply.send(
        MisbehavingServer.eventStream([chunk("Hi"), chunk(nil, finish: "stop"), usage(prompt: 3, completion: 1), "[DONE]"]))

    static let headOfStream = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
}

// MARK: Scripted servers

extension OpenAIEngineTests {
    /// One way for a server to fail, and the error it must produce.
    struct Misbehaviour: Sendable, CustomTestStringConvertible {
        let name: String
        let reply: String
        let code: KernelError.Code
        let message: String
        var testDescription: String { name }
    }

    static let misbehaviours = [
        Misbehaviour(name: "HTTP 500", reply: MisbehavingServer.reply("500 Internal Server Error", body: "model exploded\n", type: "text/plain"),
                     code: .engineFailed, message: "engine returned HTTP 500: model exploded"),
        Misbehaviour(name: "HTTP 400 with a message", reply: MisbehavingServer.reply("400 Bad Request", body: #"{"error":{"code":400,"message":"bad seed value","type":"invalid_request_error"}}"#),
                     code: .invalidArgument, message: "engine refused the request: bad seed value"),
        Misbehaviour(name: "HTTP 400 prompt too long", reply: MisbehavingServer.reply("400 Bad Request", body: #"{"error":{"code":400,"message":"request (5000 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error"}}"#),
                     code: .promptTooLong, message: "engine refused the request: request (5000 tokens) exceeds the available context size"),
        Misbehaviour(name: "HTTP 401", reply: MisbehavingServer.reply("401 Unauthorized", body: #"{"error":{"message":"Invalid API key"}}"#),
                     code: .engineUnavailable, message: "refused the API key (HTTP 401): Invalid API key"),
        Misbehaviour(name: "not a stream", reply: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>not a stream</html>\n",
                     code: .engineFailed, message: #"engine sent a malformed stream: no server-sent events; the body began "<html>not a stream</html>""#),
        Misbehaviour(name: "data not JSON", reply: MisbehavingServer.eventStream(["{not json"]),
                     code: .engineFailed, message: #"engine sent a malformed stream: not JSON: "{not json""#),
        Misbehaviour(name: "error mid-stream", reply: MisbehavingServer.eventStream([chunk("Hel"), #"{"error":{"message":"out of memory"}}"#]),
                     code: .engineFailed, message: "engine failed mid-stream: out of memory"),
        Misbehaviour(name: "no finish_reason", reply: MisbehavingServer.eventStream([chunk("Hel")]),
                     code: .engineFailed, message: "engine sent a malformed stream: it ended without a finish_reason"),
        Misbehaviour(name: "chunked body cut off", reply: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + { let event = "data: \(chunk("Hel"))\n\n"; return String(event.utf8.count, radix: 16) + "\r\n" + event + "\r\n" }(),
                     code: .engineFailed, message: "broke off the stream"),
    ]

    @Suite struct ScriptedServers {
        @Test func sendsTheRequestAsAStreamedChatCompletion() async throws {
            let server = try MisbehavingServer([goodReply])
            var settings = configuration(server.baseURL)
            settings.apiKey = "sk-test"
            try await withEngine(settings) { harness in
                var parameters = prompt("hi")
                (parameters.temperature, parameters.topP, parameters.seed, parameters.stop) = (0.7, 0.9, 7, ["\n\n"])
                parameters.constraint = .grammar(#"root ::= "a""#)
                _ = try await harness.run(parameters).0.get()
                parameters.stop = []
                parameters.constraint = .jsonSchema(#"{"type":"object","required":["a"]}"#)
                _ = try await harness.run(parameters).0.get()
            }
            let requests = server.requests
            try #require(requests.count == 2)
            #expect(requests[0].head.hasPrefix("POST /v1/chat/completions HTTP/1.1\r\n"))
            #expect(requests[0].head.lowercased().contains("\r\nauthorization: bearer sk-test"))
            let first = try #require(try JSONSerialization.jsonObject(with: requests[0].body) as? [String: Any])
            #expect(first["model"] as? String == "test-model")
            #expect((first["messages"] as? [[String: String]])?.last == ["role": "user", "content": "hi"])
            #expect(first["max_tokens"] as? Int == 16 && first["seed"] as? Int == 7)
            #expect(first["temperature"] as? Double == 0.7 && first["top_p"] as? Double == 0.9)
            #expect(first["stop"] as? [String] == ["\n\n"] && first["grammar"] as? String == #"root ::= "a""#)
            #expect(first["stream"] as? Bool == true && (first["stream_options"] as? [String: Bool]) == ["include_usage": true])
            let second = try #require(try JSONSerialization.jsonObject(with: requests[1].body) as? [String: Any])
            #expect(second["stop"] == nil && second["grammar"] == nil)
            let format = second["response_format"] as? [String: Any]
            let schema = format?["json_schema"] as? [String: Any]
            #expect(format?["type"] as? String == "json_schema" && schema?["name"] as? String == "output" && schema?["strict"] as? Bool == true)
            #expect((schema?["schema"] as? [String: Any])?["required"] as? [String] == ["a"])
        }

        @Test func sendsTheBodyPreparedWhenTheRequestWasSubmitted() async throws {
            let server = try MisbehavingServer([goodReply])
            try await withEngine(configuration(server.baseURL)) { harness in
                let sink = Recorder()
                let request = InferenceRequest(
                    id: 99, agent: "t", owner: 0, priority: 0, parameters: prompt("parameters seen by the engine thread"),
                    submittedAt: monotonicNanos(), sink: sink)
                request.prepared = try harness.engine.prepare(prompt("prepared at submission"))
                try harness.scheduler.submit(request)
                _ = try #require(await sink.outcome(within: 60)).get()
            }
            let sent = try #require(server.requests.first)
            let body = try #require(try JSONSerialization.jsonObject(with: sent.body) as? [String: Any])
            #expect((body["messages"] as? [[String: String]])?.last?["content"] == "prepared at submission")
        }

        @Test func aSchemaGoesOutWithItsMembersInOrderAndItsNumbersExact() async throws {
            let server = try MisbehavingServer([goodReply])
            let schema = #"{"type":"object","properties":{"z":{"type":"integer","maximum":9007199254740993},"a":{"type":"number"}},"required":["z"]}"#
            try await withEngine(configuration(server.baseURL)) { harness in
                var parameters = prompt("hi")
                parameters.constraint = .jsonSchema(schema)
                _ = try await harness.run(parameters).0.get()
            }
            let sent = try #require(server.requests.first)
            let body = String(decoding: sent.body, as: UTF8.self)
            #expect(body.contains(#""response_format":{"type":"json_schema","json_schema":{"name":"output","schema":\#(schema),"strict":true}}"#), "\(body)")
        }

        @Test func streamsPiecesAndTakesTheUsageAsTheCount() async throws {
            let events = [chunk(nil), chunk("Hel"), ": ping", chunk("lo"), chunk(" wörld", finish: "length"), usage(prompt: 9, completion: 6), "[DONE]"]
            let server = try MisbehavingServer([.send(MisbehavingServer.eventStream(events, lineEnd: "\r\n"))])
            try await withEngine(configuration(server.baseURL)) { harness in
                let (outcome, sink) = try await harness.run(prompt("hi"))
                let result = try outcome.get()
                #expect(result.text == "Hello wörld" && sink.pieces == ["Hel", "lo", " wörld"])
                #expect(result.finishReason == .length)
                #expect(result.usage.promptTokens == 9 && result.usage.completionTokens == 6)
                #expect(result.usage.timeToFirstTokenNanos > 0 && result.usage.totalNanos >= result.usage.timeToFirstTokenNanos)
                let stats = harness.engine.stats()
                #expect(stats.steps == 5 && stats.promptTokens == 9 && stats.generatedTokens == 6)
                #expect(stats.activeSequences == 0 && stats.busySeconds > 0)
                #expect(harness.engine.info == EngineInfo(kind: "openai", model: "test-model", slots: 2, contextTokens: 8192, endpoint: server.baseURL))
            }
        }

        @Test func theServersCachedPromptTokensAreReportedAndNotCharged() async throws {
            let usage = #"{"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":32}}}"#
            let server = try MisbehavingServer([.send(MisbehavingServer.eventStream([chunk("Hi", finish: "stop"), usage, "[DONE]"]))])
            try await withEngine(configuration(server.baseURL)) { harness in
                let result = try await harness.run(prompt("hi")).0.get()
                #expect(result.usage.promptTokens == 40 && result.usage.cachedPromptTokens == 32)
                let stats = harness.engine.stats()
                #expect(stats.promptTokens == 8 && stats.cachedPromptTokens == 32)
            }
        }

        @Test func anUnreachableEngineIsNamed() async throws {
            let url = "http://127.0.0.1:\(try MisbehavingServer.unusedPort())/v1"
            try await withEngine(configuration(url)) { harness in
                for _ in 0..<2 {  // the dispatcher lives on
                    let (outcome, _) = try await harness.run(prompt("hi"), within: 15)
                    #expect(throws: KernelError.self) { try outcome.get() }
                    guard case .failure(let error) = outcome else { continue }
                    #expect(error.code == .engineUnavailable)
                    #expect(error.message == "engine at \(url) unreachable: connection refused")
                }
            }
        }

        @Test(arguments: misbehaviours)
        func aMisbehavingServerGivesANamedErrorAndTheEngineGoesOn(_ misbehaviour: Misbehaviour) async throws {
            let server = try MisbehavingServer([.send(misbehaviour.reply), .send(misbehaviour.reply), goodReply])
            try await withEngine(configuration(server.baseURL)) { harness in
                for _ in 0..<2 {
                    let (outcome, _) = try await harness.run(prompt("hi"), within: 15)
                    guard case .failure(let error) = outcome else {
                        Issue.record("expected \(misbehaviour.code), got \(outcome)")
                        continue
                    }
                    #expect(error.code == misbehaviour.code && error.message.contains(misbehaviour.message), "\(error.code): \(error.message)")
                    #expect(!error.message.contains("\n"))
                }
                #expect(try await harness.run(prompt("hi"), within: 15).0.get().text == "Hi")
            }
        }

        @Test(arguments: ["", headOfStream + "data: \(chunk("Hel"))\n\n"])
        func aStallFailsAfterTheStallTimeout(_ sentBeforeStalling: String) async throws {
            let server = try MisbehavingServer([.stall(sentBeforeStalling), goodReply])
            try await withEngine(configuration(server.baseURL, stall: 1)) { harness in
                let started = monotonicNanos()
                let (outcome, _) = try await harness.run(prompt("hi"), within: 10)
                let seconds = Double(monotonicNanos() - started) / 1e9
                guard case .failure(let error) = outcome else {
                    Issue.record("expected a stall, got \(outcome)")
                    return
                }
                #expect(error.code == .timedOut && error.message == "engine at \(server.baseURL) stalled: no data for 1 s")
                #expect(seconds >= 0.9 && seconds < 2, "failed after \(seconds) s")
                #expect(try await harness.run(prompt("hi"), within: 15).0.get().text == "Hi")
            }
        }

        @Test func cancellingMidStreamFinishesAsCancelledAtOnce() async throws {
            let server = try MisbehavingServer([.stall(headOfStream + "data: \(chunk("Hel"))\n\n")])
            try await withEngine(configuration(server.baseURL)) { harness in
                let (request, sink) = try harness.submit(prompt("hi"))
                try #require(await waitUntil { sink.pieces == ["Hel"] })
                let cancelled = monotonicNanos()
                request.cancel()
                let result = try #require(await sink.outcome(within: 5)).get()
                #expect(result.finishReason == .cancelled && result.text == "Hel")
                #expect(monotonicNanos() - cancelled < 1_000_000_000)
            }
        }

        @Test func atMostSlotsRequestsAreInFlight() async throws {
            let server = try MisbehavingServer([.stall(headOfStream)])
            try await withEngine(configuration(server.baseURL, slots: 2)) { harness in
                let submitted = try (0..<3).map { _ in try harness.submit(prompt("hi")) }
                try #require(await waitUntil { harness.engine.stats().activeSequences == 2 && harness.scheduler.queueLength == 1 })
                // What is under test is that nothing happens: the dispatcher must not take the third
                // while both slots are busy, which only a span of time can show.
                try await Task.sleep(nanoseconds: 300_000_000)
                #expect(harness.engine.stats().activeSequences == 2 && harness.scheduler.queueLength == 1)
                for (request, _) in submitted { request.cancel() }
                for (_, sink) in submitted {
                    #expect(try #require(await sink.outcome(within: 5)).get().finishReason == .cancelled)
                }
                try #require(await waitUntil { harness.engine.stats().activeSequences == 0 })
            }
        }

        @Test func shutdownEndsWhatIsInFlight() async throws {
            let server = try MisbehavingServer([.stall(headOfStream)])
            let harness = Harness(configuration(server.baseURL))
            let (_, sink) = try harness.submit(prompt("hi"))
            try #require(await waitUntil { harness.engine.stats().activeSequences == 1 })
            let started = monotonicNanos()
            await harness.shutdown()
            #expect(monotonicNanos() - started < 3_000_000_000)
            guard case .failure(let error)? = await sink.outcome(within: 1) else {
                Issue.record("not failed")
                return
            }
            #expect(error.code == .stopping)
        }

        @Test func prepareRefusesWhatCannotFit() throws {
            var settings = configuration("http://127.0.0.1:1/v1")
            settings.contextTokens = 512
            let engine = OpenAIEngine(configuration: settings)
            defer { engine.shutdown() }
            #expect(throws: Never.self) { _ = try engine.prepare(prompt("hi", maxTokens: 511)) }
            #expect { _ = try engine.prepare(prompt("hi", maxTokens: 512)) } throws: { ($0 as? KernelError)?.code == .invalidArgument }
            var parameters = prompt("hi")
            parameters.constraint = .jsonSchema("[1]")
            #expect { _ = try engine.prepare(parameters) } throws: { ($0 as? KernelError)?.code == .invalidSchema }
            parameters = prompt("hi", tools: [lookup, ToolDefinition(name: "bad.tool", description: "", parameters: "[1]")])
            #expect { _ = try engine.prepare(parameters) } throws: {
                ($0 as? KernelError).map { $0.code == .invalidSchema && $0.message.contains("bad.tool") } ?? false
            }
        }
    }
}


// MARK: Tools

extension OpenAIEngineTests {
    static let lookup = ToolDefinition(
        name: "catalog.lookup_product", description: "Looks a product up by id.",
        parameters: #"{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}"#)
    static let mailer = ToolDefinition(name: "mail.send", description: "Sends mail.", parameters: #"{"type":"object"}"#)

    /// `prompt(text)` offering `tools`.
    static func prompt(_ text: String, tools: [ToolDefinition], choice: ToolChoice = .auto, maxTokens: Int = 16) -> InferenceParameters {
        var parameters = prompt(text, maxTokens: maxTokens)
        (parameters.tools, parameters.toolChoice) = (tools, choice)
        return parameters
    }

    /// A `chat.completion.chunk` whose delta carries `tool_calls` fragments.
    static func callChunk(_ fragments: [String: Any]...) -> String {
        let object: [String: Any] = ["object": "chat.completion.chunk", "choices": [["index": 0, "delta": ["tool_calls": fragments], "finish_reason": NSNull()]]]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// A call's first fragment, `id` and name with empty arguments, as OpenAI and llama-server send it.
    static func callStart(_ index: Int?, id: String?, name: String) -> [String: Any] {
        var fragment: [String: Any] = ["type": "function", "function": ["name": name, "arguments": ""]]
        (fragment["index"], fragment["id"]) = (index, id)
        return fragment
    }

    /// A fragment carrying a piece of a call's arguments.
    static func callArguments(_ index: Int?, _ piece: String) -> [String: Any] {
        var fragment: [String: Any] = ["function": ["arguments": piece]]
        fragment["index"] = index
        return fragment
    }

    /// Runs `parameters` against a server streaming `events` then [DONE]:
    /// the outcome, the pieces streamed and the request body the server got.
    static func exchange(_ parameters: InferenceParameters, replying events: [String]) async throws
        -> (outcome: Result<InferenceResult, KernelError>, pieces: [String], body: [String: Any]) {
        let server = try MisbehavingServer([.send(MisbehavingServer.eventStream(events + ["[DONE]"]))])
        var ran: (Result<InferenceResult, KernelError>, Recorder)?
        try await withEngine(configuration(server.baseURL)) { harness in ran = try await harness.run(parameters) }
        let (outcome, sink) = try #require(ran)
        let request = try #require(server.requests.first)
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        return (outcome, sink.pieces, body)
    }

    @Suite struct ToolCalls {
        @Test func sendsToolsAndTheirHistoryInTheOpenAIShape() async throws {
            let server = try MisbehavingServer([goodReply])
            try await withEngine(configuration(server.baseURL)) { harness in
                var parameters = prompt("", tools: [lookup, mailer], choice: .required)
                parameters.messages = [
                    ChatMessage(role: "user", content: "Price of product 7?"),
                    ChatMessage(role: "assistant", content: "", toolCalls: [ToolCallRequest(id: "call_0_0", name: "catalog.lookup_product", arguments: #"{"id": 7}"#)]),
                    ChatMessage(role: "tool", content: #"{"price": 12.5}"#, toolCallID: "call_0_0"),
                    ChatMessage(role: "assistant", content: "Mailing it.", toolCalls: [ToolCallRequest(id: "x9", name: "mail.send", arguments: "{}")]),
                    ChatMessage(role: "tool", content: #"{"error": "refused"}"#, toolCallID: "x9"),
                    ChatMessage(role: "user", content: "And product 8?"),
                ]
                // The scripted server answers in prose: a call was required, so that is the named error.
                if case .failure(let error) = try await harness.run(parameters).0 {
                    #expect(error.code == .toolCallMissing)
                } else {
                    Issue.record("a required call that did not come must fail with tool_call_missing")
                }
                _ = try await harness.run(prompt("hi", tools: [lookup])).0.get()
                _ = try await harness.run(prompt("hi")).0.get()
            }
            let bodies = try server.requests.map { try #require(try JSONSerialization.jsonObject(with: $0.body) as? [String: Any]) }
            try #require(bodies.count == 3)
            let tools = try #require(bodies[0]["tools"] as? [[String: Any]])
            #expect(tools.map { $0["type"] as? String } == ["function", "function"])
            let functions = tools.compactMap { $0["function"] as? [String: Any] }
            #expect(functions.map { $0["name"] as? String } == ["catalog__lookup_product", "mail__send"])
            #expect(functions.first?["description"] as? String == "Looks a product up by id.")
            #expect((functions.first?["parameters"] as? [String: Any])?["required"] as? [String] == ["id"])
            #expect(bodies[0]["tool_choice"] as? String == "required" && bodies[1]["tool_choice"] as? String == "auto")
            #expect(bodies[2]["tools"] == nil && bodies[2]["tool_choice"] == nil)

            let messages = try #require(bodies[0]["messages"] as? [[String: Any]])
            try #require(messages.count == 7)  // after the default system turn
            #expect(messages[1] as? [String: String] == ["role": "user", "content": "Price of product 7?"])
            #expect(messages[2]["role"] as? String == "assistant" && messages[2]["content"] is NSNull && messages[2].count == 3)
            let call = try #require((messages[2]["tool_calls"] as? [[String: Any]])?.first)
            #expect(call["id"] as? String == "call_0_0" && call["type"] as? String == "function")
            #expect(call["function"] as? [String: String] == ["name": "catalog__lookup_product", "arguments": #"{"id": 7}"#])
            #expect(messages[3] as? [String: String] == ["role": "tool", "tool_call_id": "call_0_0", "content": #"{"price": 12.5}"#])
            #expect(messages[4]["content"] as? String == "Mailing it.")
            let mailed = (messages[4]["tool_calls"] as? [[String: Any]])?.first
            #expect(mailed?["id"] as? String == "x9" && (mailed?["function"] as? [String: String])?["name"] == "mail__send")
            #expect(messages[5] as? [String: String] == ["role": "tool", "tool_call_id": "x9", "content": #"{"error": "refused"}"#])
        }

        @Test func reassemblesACallStreamedInFragments() async throws {
            let (outcome, pieces, _) = try await exchange(prompt("Price of product 42?", tools: [lookup, mailer]), replying: [
                chunk(nil), chunk("Let me look."),
                callChunk(callStart(0, id: "call_abc", name: "catalog__lookup_product")),
                callChunk(callArguments(0, #"{"id""#)), ": keep-alive",
                callChunk(callArguments(0, #": 42, "note": "a \"b\" "#)),
                callChunk(callArguments(0, "}")),
                chunk(nil, finish: "tool_calls"), usage(prompt: 20, completion: 12),
            ])
            let result = try outcome.get()
            #expect(result.toolCalls == [ToolCallRequest(id: "call_abc", name: "catalog.lookup_product", arguments: #"{"id": 42, "note": "a \"b\" }"#)])
            #expect(result.text == "Let me look." && pieces == ["Let me look."])
            #expect(result.finishReason == .stop && result.usage.promptTokens == 20 && result.usage.completionTokens == 12)
        }

        @Test func assemblesTwoParallelCalls() async throws {
            let (outcome, pieces, _) = try await exchange(prompt("Price of 1, then mail it.", tools: [lookup, mailer]), replying: [
                callChunk(callStart(0, id: "call_a", name: "catalog__lookup_product"), callArguments(0, #"{"id":"#)),
                callChunk(callStart(1, id: "call_b", name: "mail__send")),
                callChunk(callArguments(1, #"{"to": "#), callArguments(0, " 1}")),
                callChunk(callArguments(1, #""ops@example.com"}"#)),
                chunk(nil, finish: "tool_calls"),
            ])
            let result = try outcome.get()
            #expect(result.toolCalls == [
                ToolCallRequest(id: "call_a", name: "catalog.lookup_product", arguments: #"{"id": 1}"#),
                ToolCallRequest(id: "call_b", name: "mail.send", arguments: #"{"to": "ops@example.com"}"#),
            ])
            #expect(result.text.isEmpty && pieces.isEmpty && result.finishReason == .stop)
            #expect(result.usage.completionTokens == 4)  // one per chunk, with no usage to correct it
        }

        @Test func fillsInWhatTheServerLeftOut() async throws {
            // Whole calls without index or id (as some servers send them), an invented tool, no arguments.
            var parameters = prompt("Look it up.", tools: [lookup])
            parameters.messages.insert(contentsOf: [
                ChatMessage(role: "assistant", content: "", toolCalls: [ToolCallRequest(id: "call_0_0", name: "catalog.lookup_product", arguments: "{}")]),
                ChatMessage(role: "tool", content: "{}", toolCallID: "call_0_0"),
            ], at: 0)
            let (outcome, _, _) = try await exchange(parameters, replying: [
                callChunk(callStart(nil, id: nil, name: "web.search"), callArguments(nil, #"{"q": "#)),
                callChunk(callArguments(nil, #""tents"}"#)),
                callChunk(callStart(nil, id: nil, name: "catalog__lookup_product")),
                chunk(nil, finish: "stop"),
            ])
            #expect(try outcome.get().toolCalls == [
                ToolCallRequest(id: "call_1_0", name: "web.search", arguments: #"{"q": "tents"}"#),
                ToolCallRequest(id: "call_1_1", name: "catalog.lookup_product", arguments: "{}"),
            ])
        }

        @Test func wireNamesAreValidUniqueAndMapBack() async throws {
            let clash = ToolDefinition(name: "catalog__lookup_product", description: "", parameters: "{}")
            let long = ToolDefinition(name: "instance." + String(repeating: "x", count: 60), description: "", parameters: "{}")
            let wire = ["catalog__lookup_product", "catalog__lookup_product_2", "instance__" + String(repeating: "x", count: 52) + "_2"]
            let (outcome, _, body) = try await exchange(prompt("hi", tools: [lookup, clash, long]), replying: [
                callChunk(callStart(0, id: "a", name: wire[2]), callStart(1, id: "b", name: wire[1]), callStart(2, id: "c", name: wire[0])),
                chunk(nil, finish: "tool_calls"),
            ])
            let sent = (body["tools"] as? [[String: Any]])?.map { ($0["function"] as? [String: Any])?["name"] as? String }
            #expect(sent == wire)
            #expect(wire.allSatisfy { $0.count <= 64 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) } })
            #expect(try outcome.get().toolCalls.map(\.name) == [long.name, clash.name, lookup.name])
        }

        @Test func anAnswerWithoutCallsStreamsAsBefore() async throws {
            let (outcome, pieces, _) = try await exchange(prompt("hi", tools: [lookup]), replying: [
                chunk(nil), chunk("Hel"), chunk("lo", finish: "stop"), usage(prompt: 30, completion: 2),
            ])
            let result = try outcome.get()
            #expect(result.text == "Hello" && pieces == ["Hel", "lo"] && result.toolCalls.isEmpty)
            #expect(result.finishReason == .stop && result.usage.completionTokens == 2)
        }

        @Test func aCallCutOffByMaxTokensFails() async throws {
            let (outcome, _, _) = try await exchange(prompt("hi", tools: [lookup], maxTokens: 5), replying: [
                callChunk(callStart(0, id: "a", name: "catalog__lookup_product"), callArguments(0, #"{"id": 4"#)),
                chunk(nil, finish: "length"),
            ])
            guard case .failure(let error) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect(error.code == .engineFailed && error.message == "the model's tool call did not end within max_tokens (5); raise max_tokens")
        }
    }
}


// MARK: A real llama-server

extension OpenAIEngineTests {
    /// llama-server from `make engine`, run on a free port for one test.
    enum LlamaServer {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        static let binary = root.appendingPathComponent(".deps/llama.cpp/install/bin/llama-server").path
        static let model = root.appendingPathComponent(".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        static var available: Bool {
            FileManager.default.isExecutableFile(atPath: binary) && FileManager.default.fileExists(atPath: model)
        }

        /// Runs `body` with an engine (2 slots) on a fresh server started with
        /// `arguments` besides the usual; kills the server afterwards, whatever happens.
        static func withEngine(
            arguments: [String] = [], toolFormat: OpenAIToolFormat = .native, _ body: (Harness) async throws -> Void
        ) async throws {
            let port = try MisbehavingServer.unusedPort()
            let server = Process()
            // Under `timeout`, so the server dies even if this test process does first.
            server.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            server.arguments = ["-s", "KILL", "900", binary, "-m", model, "--host", "127.0.0.1", "--port", "\(port)",
                                "-np", "2", "-c", "4096", "--threads", "2"] + arguments
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            do {
                try #require(await waitUntil(within: 60) { server.isRunning && status(of: "/health", port: port) == 200 })
                var settings = configuration("http://127.0.0.1:\(port)/v1", slots: 2)
                settings.contextTokens = 2048
                settings.toolFormat = toolFormat
                try await OpenAIEngineTests.withEngine(settings, body)
            } catch {
                await stop(server)
                throw error
            }
            await stop(server)
        }

        /// A ChatML template that describes tools the Hermes way, as the
        /// embedded engine does. SmolLM2's own template has no tools, and with
        /// it llama-server silently leaves them out of the prompt.
        static let toolTemplate = #"""
            {%- for message in messages %}
                {%- if message.role == 'system' %}
                    {{- '<|im_start|>system\n' + message.content }}
                    {%- if tools %}
                        {{- '\n\nYou may call functions. Here they are, in JSON:\n<tools>' }}
                        {%- for tool in tools %}{{- '\n' + (tool | tojson) }}{%- endfor %}
                        {{- '\n</tools>\nTo call a function, answer only with\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>' }}
                    {%- endif %}
                    {{- '<|im_end|>\n' }}
                {%- elif message.role == 'assistant' and message.tool_calls %}
                    {{- '<|im_start|>assistant' }}
                    {%- if message.content %}{{- '\n' + message.content }}{%- endif %}
                    {%- for call in message.tool_calls %}
                        {{- '\n<tool_call>\n{"name": "' + call.function.name + '", "arguments": ' + (call.function.arguments | tojson) + '}\n</tool_call>' }}
                    {%- endfor %}
                    {{- '<|im_end|>\n' }}
                {%- else %}
                    {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}
            """#

        /// SIGTERM, then SIGKILL to the process group `timeout` leads if it lingers.
        private static func stop(_ server: Process) async {
            server.terminate()
            _ = await waitUntil(within: 5) { !server.isRunning }
            if server.isRunning { kill(-server.processIdentifier, SIGKILL) }
        }

        /// The status of `GET path` on the loopback port, nil when nothing answers in 2 s.
        static func status(of path: String, port: UInt16) -> Int? {
            let connection = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(connection) }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = port.bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(connection, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
            guard connected, send(connection, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
            var reply = [UInt8](repeating: 0, count: 64)
            let count = read(connection, &reply, reply.count)
            guard count >= 12 else { return nil }
            return Int(String(decoding: reply[9..<12], as: UTF8.self))  // "HTTP/1.1 200"
        }
    }

    @Suite(.enabled(if: LlamaServer.available, "needs llama-server (make engine) and the SmolLM2 model"))
    struct RealLlamaServer {
        @Test func generatesStreamsAndCountsTokens() async throws {
            try await LlamaServer.withEngine { harness in
                let (outcome, sink) = try await harness.run(prompt("Name three colors.", maxTokens: 24))
                let result = try outcome.get()
                #expect(!result.text.isEmpty && sink.pieces.joined() == result.text)
                #expect(result.finishReason == .stop || result.finishReason == .length)
                #expect(result.usage.promptTokens > 5 && result.usage.completionTokens > 0 && result.usage.completionTokens <= 24)
                let stats = harness.engine.stats()
                #expect(stats.generatedTokens == UInt64(result.usage.completionTokens) && stats.promptTokens == UInt64(result.usage.promptTokens))
                #expect(stats.steps > 0 && stats.activeSequences == 0 && stats.busySeconds > 0)
            }
        }

        @Test func theServersPromptCacheIsReported() async throws {
            try await LlamaServer.withEngine { harness in
                let parameters = prompt("Write one sentence about the sea.", maxTokens: 8)
                let first = try await harness.run(parameters).0.get()
                let second = try await harness.run(parameters).0.get()
                #expect(second.usage.cachedPromptTokens > 0 && second.usage.cachedPromptTokens < second.usage.promptTokens, "\(second.usage)")
                let stats = harness.engine.stats()
                #expect(stats.cachedPromptTokens == UInt64(first.usage.cachedPromptTokens + second.usage.cachedPromptTokens))
            }
        }

        @Test func temperatureZeroWithASeedGivesTheSameTextTwice() async throws {
            try await LlamaServer.withEngine { harness in
                var parameters = prompt("Write one sentence about the sea.", maxTokens: 32)
                parameters.seed = 42
                let first = try await harness.run(parameters).0.get()
                let second = try await harness.run(parameters).0.get()
                #expect(!first.text.isEmpty && first.text == second.text)
            }
        }

        @Test func aJSONSchemaConstrainsTheOutput() async throws {
            try await LlamaServer.withEngine { harness in
                var parameters = prompt("Describe a camping tent for sale as JSON.", maxTokens: 160)
                parameters.constraint = .jsonSchema("""
                    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 24}, "price": {"type": "number"}},
                     "required": ["name", "price"], "additionalProperties": false}
                    """)
                let result = try await harness.run(parameters).0.get()
                let object = try JSONSerialization.jsonObject(with: Data(result.text.utf8)) as? [String: Any]
                #expect(object?["name"] is String && object?["price"] is NSNumber, "\(result.text)")
            }
        }

        @Test func aGrammarConstrainsTheOutput() async throws {
            try await LlamaServer.withEngine { harness in
                var parameters = prompt("Is the sky blue? Answer yes or no.", maxTokens: 8)
                parameters.constraint = .grammar(#"root ::= "yes" | "no""#)
                let result = try await harness.run(parameters).0.get()
                #expect(["yes", "no"].contains(result.text), "\(result.text)")
            }
        }

        @Test func aPromptLongerThanTheContextIsRefused() async throws {
            try await LlamaServer.withEngine { harness in
                let (outcome, _) = try await harness.run(prompt(String(repeating: "word ", count: 3000), maxTokens: 8))
                guard case .failure(let error) = outcome else {
                    Issue.record("expected a refusal, got \(outcome)")
                    return
                }
                #expect(error.code == .promptTooLong, "\(error.code): \(error.message)")
            }
        }

        @Test func cancellingMidStreamFinishesAsCancelledQuickly() async throws {
            try await LlamaServer.withEngine { harness in
                let (request, sink) = try harness.submit(prompt("Write a very long story about a dragon.", maxTokens: 1500))
                try #require(await waitUntil(within: 60) { sink.pieces.count >= 3 })
                let cancelled = monotonicNanos()
                request.cancel()
                let result = try #require(await sink.outcome(within: 5)).get()
                #expect(result.finishReason == .cancelled && result.usage.completionTokens < 1500)
                #expect(monotonicNanos() - cancelled < 1_000_000_000)
                #expect(try await harness.run(prompt("Say hi.", maxTokens: 8)).0.get().finishReason != .cancelled)
            }
        }

        /// llama-server (`--jinja`, `toolTemplate`) with tool_choice "required": after one
        /// worked example in the history, sent in the OpenAI shape, the model calls the tool
        /// again; the call streams as fragments and comes back whole, then the result is answered.
        @Test func aToolCallComesBackParsed() async throws {
            let template = FileManager.default.temporaryDirectory.appendingPathComponent("aos-tools-\(getpid()).jinja")
            try LlamaServer.toolTemplate.write(to: template, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: template) }
            try await LlamaServer.withEngine(arguments: ["--jinja", "--chat-template-file", template.path]) { harness in
                var parameters = prompt("", tools: [lookup], choice: .required, maxTokens: 60)
                parameters.messages = [
                    ChatMessage(role: "user", content: "What is the price of product 7?"),
                    ChatMessage(role: "assistant", content: "", toolCalls: [ToolCallRequest(id: "call_0_0", name: "catalog.lookup_product", arguments: #"{"id": 7}"#)]),
                    ChatMessage(role: "tool", content: #"{"price": 12.5}"#, toolCallID: "call_0_0"),
                    ChatMessage(role: "assistant", content: "Product 7 costs 12.5."),
                    ChatMessage(role: "user", content: "What is the price of product 42?"),
                ]
                let (outcome, sink) = try await harness.run(parameters)
                let result = try outcome.get()
                let call = try #require(result.toolCalls.first, "no tool call; the model wrote \(result.text)")
                #expect(result.toolCalls.count == 1 && call.name == "catalog.lookup_product" && !call.id.isEmpty)
                let arguments = try JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: Any]
                #expect(arguments?.keys.sorted() == ["id"] && arguments?["id"] is Int, "\(call.arguments)")
                #expect(result.finishReason == .stop && sink.pieces.joined() == result.text && !result.text.contains("<tool_call>"))
                #expect(result.usage.completionTokens > 5)

                parameters.messages += [
                    ChatMessage(role: "assistant", content: result.text, toolCalls: result.toolCalls),
                    ChatMessage(role: "tool", content: #"{"price": 30}"#, toolCallID: call.id),
                ]
                parameters.toolChoice = .none
                let answer = try await harness.run(parameters).0.get()
                #expect(answer.toolCalls.isEmpty && !answer.text.isEmpty)
            }
        }

        /// SmolLM2's own template has no tools, so llama-server drops them without
        /// a word and the model answers in prose: with a call required, that is
        /// the named error `tool_call_missing`, never the prose as an answer.
        @Test func aRequiredCallTheServerIgnoresIsANamedError() async throws {
            try await LlamaServer.withEngine { harness in
                let (outcome, sink) = try await harness.run(prompt("What is the price of product 42?", tools: [lookup], choice: .required, maxTokens: 40))
                guard case .failure(let error) = outcome else {
                    Issue.record("expected tool_call_missing, got \(outcome)")
                    return
                }
                #expect(error.code == .toolCallMissing && error.message.contains("--engine-tools kernel"), "\(error)")
                #expect(sink.pieces.joined().isEmpty)  // prose that is not the answer never streams
            }
        }

        /// `--engine-tools kernel`: the tools go into the prompt in the kernel's
        /// format and the answer is held to its grammar, so the same server calls.
        @Test func kernelToolFormatCallsThroughTheGrammar() async throws {
            try await LlamaServer.withEngine(toolFormat: .kernel) { harness in
                var parameters = prompt("What is the price of product 42?", tools: [lookup], choice: .required, maxTokens: 60)
                let result = try await harness.run(parameters).0.get()
                let call = try #require(result.toolCalls.first, "no tool call; the model wrote \(result.text)")
                #expect(call.name == "catalog.lookup_product" && !result.text.contains("<tool_call>"))
                let arguments = try JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: Any]
                #expect(arguments?["id"] is Int, "\(call.arguments)")
                #expect(result.usage.promptTokens > 80, "the tools are in the prompt: \(result.usage.promptTokens) tokens")

                parameters.messages += [
                    ChatMessage(role: "assistant", content: "", toolCalls: result.toolCalls),
                    ChatMessage(role: "tool", content: #"{"price": 30}"#, toolCallID: call.id),
                ]
                parameters.toolChoice = .none
                let (outcome, sink) = try await harness.run(parameters)
                let answer = try outcome.get()
                #expect(answer.toolCalls.isEmpty && !answer.text.isEmpty && !answer.text.hasPrefix("<"))
                #expect(sink.pieces.joined() == answer.text)
            }
        }

        /// `--engine-tools auto`: native first; when a required call does not come,
        /// the request is asked again in the kernel's format, and so are later ones.
        @Test func autoToolFormatFallsBackWhenTheServerIgnoresTools() async throws {
            try await LlamaServer.withEngine(toolFormat: .auto) { harness in
                let (outcome, sink) = try await harness.run(prompt("What is the price of product 42?", tools: [lookup], choice: .required, maxTokens: 60))
                let result = try outcome.get()
                #expect(result.toolCalls.first?.name == "catalog.lookup_product", "\(result.text)")
                #expect(sink.pieces.joined().isEmpty, "the ignored attempt's prose was shown: \(sink.pieces)")
                let later = try await harness.run(prompt("What is the price of product 7?", tools: [lookup], maxTokens: 60)).0.get()
                #expect(later.usage.promptTokens > 80, "later requests carry the tools in the prompt: \(later.usage.promptTokens) tokens")
            }
        }

        @Test func sixConcurrentRequestsThroughTwoSlotsAllFinish() async throws {
            try await LlamaServer.withEngine { harness in
                let submitted = try (0..<6).map { try harness.submit(prompt("Count from \($0) to \($0 + 5).", maxTokens: 16)) }
                var mostInFlight = 0
                _ = await waitUntil(within: 120) {
                    mostInFlight = max(mostInFlight, harness.engine.stats().activeSequences)
                    return submitted.allSatisfy { $0.0.isFinished }
                }
                #expect(mostInFlight == 2)
                for (_, sink) in submitted {
                    let result = try #require(await sink.outcome(within: 1)).get()
                    #expect(!result.text.isEmpty && result.usage.completionTokens > 0)
                }
            }
        }
    }
}
