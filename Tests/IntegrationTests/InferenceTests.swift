import ControlAPI
import Foundation
import Testing

/// The inference syscalls and `agentctl infer` on a real kernel with the real
/// model (SmolLM2-135M, embedded llama.cpp), driven through the `inferer` fixture.
@Suite(.serialized) struct InferenceTests {
    static let engine = ["--model", Paths.model, "--slots", "4", "--ctx", "8192", "--threads", "2"]

    /// A kernel with the engine and the inferer fixture loaded.
    private func kernel(_ extra: [String] = []) async throws -> KernelProcess {
        let kernel = try await KernelProcess(Self.engine + extra)
        try await kernel.load("inferer", grants: ["infer"])
        return kernel
    }

    /// The inferer's answer: `ok|FINISH|PROMPT|COMPLETION|EXTRA|TEXT` or `err|STATUS`.
    struct Answer {
        var ok: Bool
        var status = ""
        var finish = ""
        var promptTokens = 0
        var completionTokens = 0
        var extra = ""
        var text = ""

        init(_ line: String) {
            let fields = line.split(separator: "|", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            ok = fields.first == "ok"
            if !ok {
                status = fields.count > 1 ? fields[1] : line
                return
            }
            finish = fields[1]
            promptTokens = Int(fields[2]) ?? -1
            completionTokens = Int(fields[3]) ?? -1
            extra = fields[4]
            text = fields.count > 5 ? fields[5] : ""
        }
    }

    private func ask(_ kernel: KernelProcess, _ command: String, timeoutMs: UInt32 = 60_000) async throws -> Answer {
        Answer(try await kernel.ask("inferer", command, timeoutMs: timeoutMs))
    }

    @Test func greedyAnswersAreNonEmptyAndDeterministic() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let first = try await ask(kernel, "block 24 What is the capital of France?")
        let second = try await ask(kernel, "block 24 What is the capital of France?")
        #expect(first.ok, "\(first.status)")
        #expect(!first.text.trimmingCharacters(in: .whitespaces).isEmpty)
        #expect(first.text == second.text)
        #expect(first.promptTokens > 10 && first.completionTokens >= 1 && first.completionTokens <= 24)
        #expect(["stop", "length"].contains(first.finish))
    }

    @Test func seededSamplingIsRepeatable() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let first = try await ask(kernel, "sample 32 Tell me about the sea.")
        let second = try await ask(kernel, "sample 32 Tell me about the sea.")
        #expect(first.ok && !first.text.isEmpty)
        #expect(first.text == second.text)
    }

    @Test func streamingAndAsyncEqualBlocking() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let blocking = try await ask(kernel, "block 32 Name three colors.")
        let streamed = try await ask(kernel, "stream 32 Name three colors.")
        let submitted = try await ask(kernel, "submit 32 Name three colors.")
        #expect(blocking.ok && streamed.ok && submitted.ok)
        #expect(streamed.text == blocking.text)
        #expect(submitted.text == blocking.text)
        #expect(streamed.extra.hasSuffix("match=1"), "\(streamed.extra)")
        #expect(!streamed.extra.hasPrefix("pieces=0"))
        #expect(submitted.extra == "async")
    }

    @Test func jsonSchemaOutputParsesWithTheRequiredKeys() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, "json 64 Describe a camping tent for sale as JSON.")
        #expect(answer.ok, "\(answer.status)")
        let object = try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any]
        #expect(object?["name"] is String, "\(answer.text)")
        #expect(object?["price"] is NSNumber, "\(answer.text)")
    }

    @Test func grammarConstrainsTheOutput() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, "grammar 8 Is the sky blue? Answer yes or no.")
        #expect(answer.ok)
        #expect(["yes", "no"].contains(answer.text), "\(answer.text)")
        #expect(answer.finish == "stop")
    }

    @Test func aStopStringEndsTheGenerationAndIsLeftOut() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, "stop 64 Write two sentences about cats.")
        #expect(answer.ok)
        #expect(answer.finish == "stop")
        #expect(!answer.text.contains("."), "\(answer.text)")
    }

    @Test func aCallbackThatCancelsEndsTheRequestAndFreesItsSlot() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, "cancelafter 200 Write a long story about a dragon.")
        #expect(answer.ok)
        #expect(answer.finish == "cancelled")
        #expect(answer.completionTokens >= 3 && answer.completionTokens < 200)
        #expect(try await kernel.eventually(5) { try await kernel.client.engine().activeSequences == 0 })
        let info = try #require(try await kernel.listed("inferer"))
        #expect(info.inference?.cancelled == 1)
    }

    @Test func cancellingASubmittedRequestStillDeliversItsResult() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, "submitcancel 200 Write a long story about a dragon.")
        #expect(answer.ok)
        #expect(answer.finish == "cancelled")
        #expect(answer.completionTokens < 200)
    }

    @Test(arguments: [
        ("bad-utf8 8 x", "not valid UTF-8"),
        ("bad-role 8 x", "role \"wizard\""),
        ("bad-nomessages 8 x", "no messages"),
        ("bad-struct 8 x", "struct_size 8"),
        ("bad-both 8 x", "both set"),
        ("bad-grammar 8 x", "invalid grammar"),
        ("bad-schema 8 x", "money"),
        ("bad-stops 8 x", "9 stop strings"),
        ("bad-nullcontent 8 x", "NULL role or content"),
        ("block 0 hi", "max_tokens is 0"),
        ("block 1000000000 hi", "does not fit the context"),
    ])
    func malformedRequestsAreRefusedWithEINVALAndAReason(command: String, reason: String) async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, command)
        #expect(!answer.ok)
        #expect(answer.status == "AOS_EINVAL")
        #expect(try await kernel.waitForLog("inferer", containing: reason), "log lacks \(reason)")
        #expect(try await ask(kernel, "block 4 Say hi.").ok)
        try await kernel.expectHealthy()
    }

    @Test func aPromptLongerThanTheContextIsETOOBIG() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let answer = try await ask(kernel, "long 3000 word")
        #expect(answer.status == "AOS_ETOOBIG")
        #expect(try await kernel.waitForLog("inferer", containing: "the context holds 2048 per sequence"))
        #expect(try await ask(kernel, "block 4 Say hi.").ok)
    }

    @Test func inferFromAnotherThreadIsEWRONGTHREAD() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        #expect(try await ask(kernel, "wrongthread 4 x").status == "AOS_EWRONGTHREAD")
    }

    @Test func unloadingAnAgentMidGenerationCancelsItsRequestsAndFreesTheEngine() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        try await kernel.load("inferer", as: "bystander", grants: ["infer"])
        let client = kernel.client
        let pending = Task { try? await client.send("inferer", SendRequest(text: "block 400 Write a very long story.", wait: true, timeoutMs: 60_000)) }
        #expect(try await kernel.eventually(20) { try await client.engine().activeSequences == 1 })
        let started = Date()
        _ = try await client.unload("inferer")
        #expect(Date().timeIntervalSince(started) < 3)
        _ = await pending.value
        #expect(try await kernel.eventually(5) { try await client.engine().activeSequences == 0 })
        #expect(Answer(try await kernel.ask("bystander", "block 8 Say hi.", timeoutMs: 60_000)).ok)
    }

    @Test func withoutAnEngineInferIsEUNAVAIL() async throws {
        let kernel = try await KernelProcess(["--engine", "none"])
        defer { _ = kernel.stop() }
        try await kernel.load("inferer", grants: ["infer"])
        #expect(try await ask(kernel, "block 8 hi").status == "AOS_EUNAVAIL")
        await expectAPIError("engine_unavailable", status: 503) { try await kernel.client.infer(InferRequest(prompt: "hi")) }
        #expect(try await kernel.client.engine().kind == "none")
    }
}

/// `agentctl infer` and `agentctl engine`, and the control API's refusals.
@Suite(.serialized) struct AgentctlInferTests {
    @Test func inferStreamsTheSameTextAsJSONAndAccountsIt() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { _ = kernel.stop() }
        let streamed = try kernel.agentctl("infer", "--max-tokens", "24", "--agent", "tester", "What is a kernel?")
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(streamed.stderr.contains("generated tokens"))
        let json = try kernel.agentctl("infer", "--max-tokens", "24", "--agent", "tester", "-o", "json", "What is a kernel?")
        let result = try ControlJSON.decoder().decode(InferResult.self, from: Data(json.stdout.utf8))
        #expect(streamed.stdout == result.text + (result.text.hasSuffix("\n") ? "" : "\n"))
        #expect(result.agent == "tester" && result.usage.completionTokens > 0)
        let engine = try await kernel.client.engine()
        #expect(engine.kind == "llama.cpp" && engine.slots == 4 && engine.policy == "fair")
        #expect(engine.generatedTokens >= UInt64(2 * result.usage.completionTokens))
        let table = try kernel.agentctl("engine")
        #expect(table.stdout.contains("llama.cpp") && table.stdout.contains("fair"))
    }

    @Test func controlAPIRefusalsAreSpecific() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { _ = kernel.stop() }
        let client = kernel.client
        func infer(_ json: String) async throws -> (Int, String) {
            let (status, body) = try await client.raw(.POST, "/v1/infer", body: Data(json.utf8))
            return (status, String(decoding: body, as: UTF8.self))
        }
        let cases: [(String, Int, String)] = [
            (#"{"prompt":"hi","max_tokens":0}"#, 400, "invalid_argument"),
            (#"{"prompt":"hi","max_tokens":99999999}"#, 400, "invalid_argument"),
            (#"{"prompt":"hi","temperature":-1}"#, 400, "invalid_argument"),
            (#"{"prompt":"hi","grammar":"root ::= ("}"#, 400, "invalid_grammar"),
            (#"{"prompt":"hi","json_schema":"{\"type\":\"string\"}"}"#, 400, "invalid_schema"),
            (#"{"prompt":"hi","json_schema":"not json"}"#, 400, "invalid_schema"),
            (#"{"prompt":"hi","messages":[{"role":"user","content":"x"}]}"#, 400, "invalid_argument"),
            (#"{"messages":[{"role":"robot","content":"x"}]}"#, 400, "invalid_argument"),
            (#"{}"#, 400, "invalid_argument"),
            (#"{"prompt":"#, 400, "bad_json"),
            ("{\"prompt\":\"" + String(repeating: "word ", count: 3000) + "\"}", 400, "prompt_too_long"),
        ]
        for (body, status, code) in cases {
            let (actualStatus, text) = try await infer(body)
            #expect(actualStatus == status && text.contains("\"\(code)\""), "\(body.prefix(80)) → \(actualStatus) \(text)")
        }
        await expectAPIError("not_found", status: 404) { try await client.cancelInference(123_456) }
        #expect(try await client.infer(InferRequest(prompt: "Say hi.")).text.isEmpty == false)
        try await kernel.expectHealthy()
    }

    @Test func ctrlCInAgentctlInferCancelsTheRequest() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { _ = kernel.stop() }
        // The grammar allows no end before 900 letters: at least 225 tokens unless cancelled.
        let grammar = kernel.scratch("long.gbnf")
        try "root ::= [a-z]{900}".write(toFile: grammar, atomically: true, encoding: .utf8)
        let command = try BackgroundCommand(
            Paths.agentctl, ["infer", "--max-tokens", "1000", "--grammar-file", grammar, "Write letters."],
            environment: ["AGENTOS_HOME": kernel.home.path])
        #expect(try await kernel.eventually(30) { !command.stdout.isEmpty })
        kill(command.process.processIdentifier, SIGINT)
        _ = await command.finish(timeout: 10)
        #expect(try await kernel.eventually(10) { try await kernel.client.engine().activeSequences == 0 })
        let generated = try await kernel.client.engine().generatedTokens
        #expect(generated < 225, "the request ran on after Ctrl-C: \(generated) tokens")
        try await kernel.expectHealthy()
    }

    @Test func aHundredConcurrentRequestsOnEightSlotsAreAllServedAndAccounted() async throws {
        let kernel = try await KernelProcess(["--model", Paths.model, "--slots", "8", "--ctx", "8192", "--policy", "fifo"])
        defer { _ = kernel.stop() }
        let client = kernel.client
        // Four agents submit 25 requests each without waiting: 100 in the kernel at once.
        for agent in 0..<4 { try await kernel.load("inferer", as: "agent-\(agent)", grants: ["infer"]) }
        for index in 0..<100 {
            _ = try await client.send("agent-\(index % 4)", SendRequest(text: "submit 4 Say a number."))
        }
        #expect(try await kernel.eventually(120) {
            try await client.instances().allSatisfy { $0.inference?.completed == 25 }
        })
        for info in try await client.instances() {
            #expect(info.inference?.requests == 25 && info.inference?.failed == 0 && info.inference?.inFlight == 0)
        }
        #expect(try await kernel.eventually(5) {
            let engine = try await client.engine()
            return engine.activeSequences == 0 && engine.queueLength == 0
        })
        let engine = try await client.engine()
        #expect(engine.meanBatchTokens > 1.5, "continuous batching should batch: \(engine.meanBatchTokens)")
    }
}

/// A model that is missing, damaged or not the one expected stops agentosd at startup with a clear message.
@Suite struct ModelStartupTests {
    private func start(_ arguments: [String]) throws -> CommandResult {
        let home = KernelProcess.newRoot()
        defer { try? FileManager.default.removeItem(atPath: home) }
        return try CommandResult.run(Paths.agentosd, ["--no-plugins-dir"] + arguments, environment: ["AGENTOS_HOME": home])
    }

    @Test func aMissingModelIsNamed() throws {
        let result = try start(["--model", "/nonexistent/model.gguf"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot load model /nonexistent/model.gguf: no such file"), "\(result.stderr)")
    }

    @Test func aTruncatedModelIsRefused() throws {
        let path = KernelProcess.newRoot() + ".gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try #require(FileHandle(forReadingAtPath: Paths.model))
        try handle.read(upToCount: 4 << 20)!.write(to: URL(fileURLWithPath: path))
        let result = try start(["--model", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("truncated or corrupt"), "\(result.stderr)")
    }

    @Test func aFileThatIsNotGGUFIsRefused() throws {
        let result = try start(["--model", Paths.agentctl.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("not a GGUF file"), "\(result.stderr)")
    }

    @Test func aWrongChecksumIsRefused() throws {
        let result = try start(["--model", Paths.model, "--model-sha256", String(repeating: "0", count: 64)])
        #expect(result.status == 1)
        #expect(result.stderr.contains("sha256 is b179c952"), "\(result.stderr)")
    }
}
