import ControlAPI
import Foundation
import Testing

/// The OpenAI-compatible API (`agentosd --api-addr`) driven by the real
/// `openai` Python package (Tests/Fixtures/python/openai_client.py, from the
/// venv `make python-peers` makes) and by curl for the raw shapes, against a
/// kernel with the real model and the echo agent.
@Suite(.serialized) struct OpenAIAPITests {
    static let model = "SmolLM2-135M-Instruct.Q4_1"

    /// A kernel serving the API, with echo loaded and four keys: all (infer,
    /// send:echo*), no-infer (send:echo), revoked, and budget (infer, 20 tokens in all).
    struct Served {
        let kernel: KernelProcess
        let base: String
        let keys: [String]
    }

    private func serve() async throws -> Served {
        let port = try ObservabilityTests.freePort()
        let kernel = try await KernelProcess(InferenceTests.engine + ["--api-addr", "127.0.0.1:\(port)"])
        try await kernel.load("echo")
        func create(_ name: String, _ extra: String...) throws -> String {
            let result = try CommandResult.run(Paths.agentctl, ["keys", "create", name] + extra, environment: ["AGENTOS_HOME": kernel.home.path])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let all = try create("all", "--grant", "infer,send:echo*")
        let noInfer = try create("no-infer", "--grant", "send:echo")
        let revoked = try create("revoked", "--grant", "infer")
        let budget = try create("budget", "--grant", "infer", "--quota", "token_budget=20")
        #expect(try kernel.agentctl("keys", "revoke", "revoked").status == 0)
        return Served(kernel: kernel, base: "http://127.0.0.1:\(port)/v1", keys: [all, noInfer, revoked, budget])
    }

    /// Runs one check of openai_client.py; fails the test with its output unless it passed.
    private func python(_ served: Served, _ check: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let python = Paths.root.appendingPathComponent(".deps/python-peers/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path), "no \(python.path): run `make python-peers`")
        let script = Paths.root.appendingPathComponent("Tests/Fixtures/python/openai_client.py").path
        let arguments = [script, served.base, Self.model, check] + served.keys
        let result = await onThread { try? CommandResult.run(python, arguments) }
        #expect(result?.status == 0 && result?.stdout.contains("ok \(check)") == true,
                "\(check): \(result?.stdout ?? "") \(result?.stderr ?? "did not run")", sourceLocation: sourceLocation)
    }

    /// `curl -s` with `arguments`; returns the HTTP status and the body.
    private func curl(_ arguments: [String]) async throws -> (status: Int, body: String) {
        let result = await onThread { try? CommandResult.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-w", "\n%{http_code}"] + arguments) }
        let output = result?.stdout ?? ""
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test func modelsListTheEngineAndTheAgentsTheKeyReaches() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        try await python(served, "models")
    }

    @Test func chatCompletionsAnswerWithUsageAndCachedTokens() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        try await python(served, "chat")
        try await python(served, "stream")
    }

    @Test func toolsAndJSONSchemaOutput() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        try await python(served, "tools")
        try await python(served, "json_schema")
    }

    @Test func responsesAndAgentsAsModels() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        try await python(served, "responses")
        try await python(served, "agent")
    }

    @Test func everyErrorStatusInOpenAIsShape() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        try await python(served, "errors")
        try await python(served, "quota")
        // The denials are audited under the key's principal.
        let audit = try await served.kernel.client.audit()
        #expect(audit.contains { $0.agent == "key:no-infer" && $0.decision == "deny" && $0.capability == "infer" })
        try await served.kernel.expectHealthy()
    }

    @Test func rawShapesAndBadBodiesWithCurl() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        let url = served.base + "/chat/completions"
        let auth = ["-H", "Authorization: Bearer \(served.keys[0])", "-H", "Content-Type: application/json"]
        let noKey = try await curl([url, "-d", "{}"])
        #expect(noKey.status == 401 && noKey.body.contains(#""type":"authentication_error""#), "\(noKey)")
        let malformed = try await curl(auth + [url, "-d", "{\"model\": "])
        #expect(malformed.status == 400 && malformed.body.contains(#""code":"invalid_json""#), "\(malformed)")
        let notObject = try await curl(auth + [url, "-d", "[1]"])
        #expect(notObject.status == 400, "\(notObject)")
        let oversize = served.kernel.scratch("big.json")
        try Data(("{\"model\":\"x\",\"pad\":\"" + String(repeating: "a", count: 7 << 20) + "\"}").utf8).write(to: URL(fileURLWithPath: oversize))
        let big = try await curl(auth + [url, "--data-binary", "@" + oversize])
        #expect(big.status == 413 && big.body.contains(#""code":"request_too_large""#), "\(big.status) \(big.body.prefix(200))")
        let shape = try await curl(auth + [url, "-d", #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"Hi"}],"max_tokens":3}"#])
        #expect(shape.status == 200, "\(shape)")
        for member in [#""object":"chat.completion""#, #""finish_reason":"#, #""prompt_tokens_details":{"cached_tokens":"#] {
            #expect(shape.body.contains(member), "\(member) in \(shape.body)")
        }
        let sse = try await curl(auth + ["-N", url, "-d", #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"stream":true}"#])
        #expect(sse.body.hasPrefix("data: {") && sse.body.contains(#""object":"chat.completion.chunk""#) && sse.body.hasSuffix("data: [DONE]\n\n"), "\(sse.body)")
        let route = try await curl(auth + [served.base + "/embeddings", "-d", "{}"])
        #expect(route.status == 404 && route.body.contains(#""error":{"#), "\(route)")
        try await served.kernel.expectHealthy()
    }

    @Test func requestsToAnAgentContinueTheSessionTheirHeaderOrUserNamesKeptPerKey() async throws {
        let port = try ObservabilityTests.freePort()
        let kernel = try await KernelProcess(InferenceTests.engine + ["--api-addr", "127.0.0.1:\(port)"])
        defer { kernel.stop() }
        try await kernel.load("inferer", grants: ["infer"])
        let created = try CommandResult.run(Paths.agentctl, ["keys", "create", "web", "--grant", "send:inferer"], environment: ["AGENTOS_HOME": kernel.home.path])
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(port)/v1"
        let auth = ["-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json"]
        func chat(_ extra: [String] = [], user: String) async throws -> (status: Int, body: String) {
            try await curl(auth + extra + [base + "/chat/completions", "-d", #"{"model":"agent:inferer","messages":[{"role":"user","content":"block 2 hi"}],"user":"\#(user)"}"#])
        }
        for _ in 0..<2 {
            let answer = try await chat(user: "bob")
            #expect(answer.status == 200 && answer.body.contains("ok|length|"), "\(answer)")
        }
        let byHeader = try await chat(["-H", "X-Session-ID: ticket-7"], user: "bob")
        #expect(byHeader.status == 200, "\(byHeader)")
        let responses = try await curl(auth + [base + "/responses", "-d", #"{"model":"agent:inferer","input":"block 2 hi","user":"carol"}"#])
        #expect(responses.status == 200 && responses.body.contains("ok|length|"), "\(responses)")
        let bad = try await chat(user: "has space")
        #expect(bad.status == 400 && bad.body.contains(#""param":"user""#) && bad.body.contains("cannot name a session"), "\(bad)")
        let badHeader = try await chat(["-H", "X-Session-ID: a;b"], user: "bob")
        #expect(badHeader.status == 400 && badHeader.body.contains(#""param":"X-Session-ID""#), "\(badHeader)")
        let listed = try kernel.agentctl("sessions", "ls", "-o", "json")
        let sessions = try ControlJSON.decoder().decode(SessionList.self, from: Data(listed.stdout.utf8)).sessions
        #expect(sessions.map { "\($0.agent)/\($0.id) \($0.turns)" }.sorted() == [
            "inferer/key:web:bob 4", "inferer/key:web:carol 2", "inferer/key:web:ticket-7 2",
        ])
        try await kernel.expectHealthy()
    }

    @Test func aClientThatLeavesMidStreamCancelsItsRequest() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        try await python(served, "disconnect")
        // 2,000 tokens would take far longer: the request was cancelled and its slot freed.
        #expect(try await served.kernel.eventually(15) { try await served.kernel.client.engine().activeSequences == 0 })
        try await python(served, "chat")
    }

    @Test func keysAreListedWithoutSecretsAndStoredHashed() async throws {
        let served = try await serve()
        defer { served.kernel.stop() }
        let listed = try served.kernel.agentctl("keys", "ls", "-o", "json")
        #expect(listed.status == 0)
        let keys = try ControlJSON.decoder().decode([APIKeyInfo].self, from: Data(listed.stdout.utf8))
        #expect(keys.map(\.name) == ["all", "budget", "no-infer"])
        #expect(keys.first { $0.name == "budget" }?.quotas == ["token_budget": 20])
        let file = try String(contentsOfFile: served.kernel.home.apiKeysPath, encoding: .utf8)
        #expect(!served.keys.contains { file.contains($0) })
        let attributes = try FileManager.default.attributesOfItem(atPath: served.kernel.home.apiKeysPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let duplicate = try served.kernel.agentctl("keys", "create", "all", "--grant", "infer")
        #expect(duplicate.status == 1 && duplicate.stderr.contains("exists"), "\(duplicate.stderr)")
        let badGrant = try served.kernel.agentctl("keys", "create", "x", "--grant", "admin")
        #expect(badGrant.status == 1 && badGrant.stderr.contains("infer, send:GLOB and tool:GLOB"), "\(badGrant.stderr)")
        let badQuota = try served.kernel.agentctl("keys", "create", "y", "--grant", "infer", "--quota", "speed=3")
        #expect(badQuota.status == 1 && badQuota.stderr.contains("unknown quota"), "\(badQuota.stderr)")
        #expect(try served.kernel.agentctl("keys", "revoke", "nobody").status == 1)
    }
}
