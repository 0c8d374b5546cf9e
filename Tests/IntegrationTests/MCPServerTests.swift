import ControlAPI
import Foundation
import StrictJSON
import Testing

/// The kernel's tools over MCP, driven by the real `mcp` Python package
/// (Tests/Fixtures/python/mcp_client.py, from the venv `make python-peers`
/// makes): Streamable HTTP at /mcp on `agentosd --api-addr`, per API key, and
/// stdio through `agentctl mcp serve`; curl for the raw HTTP shapes. The tools
/// are the real calculator and clock plugins, called through libffi.
@Suite(.serialized) struct MCPServerTests {
    /// A kernel serving /mcp with calculator and clock loaded, and its keys by name:
    /// calc (tool:calculator.*), all (tool:*), infer (infer only), slow (tool:*, one call a minute).
    struct Served {
        let kernel: KernelProcess
        let url: String
        let keys: [String: String]
    }

    private func serve() async throws -> Served {
        let port = try ObservabilityTests.freePort()
        let kernel = try await KernelProcess(["--api-addr", "127.0.0.1:\(port)"])
        try await kernel.load("calculator")
        try await kernel.load("clock")
        var keys: [String: String] = [:]
        for (name, extra) in [
            ("calc", ["--grant", "tool:calculator.*"]), ("all", ["--grant", "tool:*"]), ("infer", ["--grant", "infer"]),
            ("slow", ["--grant", "tool:*", "--quota", "tool_calls_per_minute=1", "--quota", "quota_wait_ms=1"]),
            ("revoked", ["--grant", "tool:*"]),
        ] {
            let created = try CommandResult.run(Paths.agentctl, ["keys", "create", name] + extra, environment: ["AGENTOS_HOME": kernel.home.path])
            #expect(created.status == 0, "\(created.stderr)")
            keys[name] = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try kernel.agentctl("keys", "revoke", "revoked").status == 0)
        return Served(kernel: kernel, url: "http://127.0.0.1:\(port)/mcp", keys: keys)
    }

    /// Runs mcp_client.py with `arguments`; returns its JSON output.
    private func python(_ arguments: [String], home: AgentOSHome? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let python = Paths.root.appendingPathComponent(".deps/python-peers/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path), "no \(python.path): run `make python-peers`")
        let script = Paths.root.appendingPathComponent("Tests/Fixtures/python/mcp_client.py").path
        let environment = home.map { ["AGENTOS_HOME": $0.path] } ?? [:]
        let result = await onThread { try? CommandResult.run(python, [script] + arguments, environment: environment) }
        let output = try #require(result, "mcp_client.py did not run", sourceLocation: sourceLocation)
        #expect(output.status == 0, "\(output.stderr)", sourceLocation: sourceLocation)
        return try JSONParser.parse(output.stdout)
    }

    /// One session over HTTP with `key` ("-" for none) running `ops`.
    private func http(_ served: Served, key: String, _ ops: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        try await python(["http", served.url, key, ops], sourceLocation: sourceLocation)
    }

    private func results(_ output: JSONValue) -> [JSONValue] {
        if case .array(let results)? = output["results"] { return results }
        Issue.record("no results in \(output.jsonText)")
        return []
    }

    private func toolNames(_ result: JSONValue) -> [String] {
        guard case .array(let tools)? = result["tools"] else { return [] }
        return tools.compactMap { if case .string(let name)? = $0["name"] { name } else { nil } }
    }

    /// `curl -s` with `arguments`; returns the HTTP status, the headers and the body.
    private func curl(_ arguments: [String]) async -> (status: Int, headers: String, body: String) {
        let result = await onThread { try? CommandResult.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-i"] + arguments) }
        let output = (result?.stdout ?? "").replacingOccurrences(of: "\r\n", with: "\n")
        let parts = output.components(separatedBy: "\n\n")
        let head = parts.first ?? ""
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, head, parts.dropFirst().joined(separator: "\n\n"))
    }

    @Test func listsTheKeysToolsWithSchemasAndCallsALibffiTool() async throws {
        let served = try await serve()
        defer { _ = served.kernel.stop() }
        let output = try await http(served, key: served.keys["calc"]!, #"[["list"], ["call", "calculator.multiply", {"a": 12.5, "b": 4}]]"#)
        #expect(output["server"] == .string("agentos"))
        let results = results(output)
        #expect(results.count == 2)
        #expect(toolNames(results[0]).sorted() == ["calculator.add", "calculator.divide", "calculator.multiply", "calculator.sqrt"])
        guard case .array(let tools)? = results[0]["tools"] else { return }
        let multiply = tools.first { $0["name"] == .string("calculator.multiply") }
        #expect(multiply?["inputSchema"]?["properties"]?["a"]?["type"] == .string("number"))
        #expect(multiply?["inputSchema"]?["required"] == .array([.string("a"), .string("b")]))
        #expect(results[1]["isError"] == .bool(false) && results[1]["text"] == .string("50"), "\(results[1].jsonText)")
        // The call went through the tool's own counters, as `agentctl call` does.
        let listed = try await served.kernel.client.tools(matching: "calculator.multiply")
        #expect(listed.first?.calls == 1)
    }

    @Test func aToolTheKeyDoesNotHoldIsRefusedAndAudited() async throws {
        let served = try await serve()
        defer { _ = served.kernel.stop() }
        let calc = results(try await http(served, key: served.keys["calc"]!, #"[["call", "clock.now", {}]]"#))
        #expect(calc.first?["error"]?["code"] == .integer(-32003), "\(calc)")
        #expect(calc.first?["error"]?["message"]?.asString?.contains("this key may not call clock.now (it needs tool:clock.now)") == true, "\(calc)")
        // A key without any tool: grant sees no tools and may call none.
        let infer = results(try await http(served, key: served.keys["infer"]!, #"[["list"], ["call", "calculator.add", {"a": 1, "b": 2}]]"#))
        #expect(toolNames(infer[0]).isEmpty)
        #expect(infer[1]["error"]?["code"] == .integer(-32003))
        let audit = try await served.kernel.client.audit()
        #expect(audit.contains { $0.agent == "key:calc" && $0.syscall == "mcp tools/call" && $0.capability == "tool:clock.now" && $0.decision == "deny" })
        #expect(audit.contains { $0.agent == "key:infer" && $0.capability == "tool:calculator.add" })
        #expect(try await served.kernel.client.tools(matching: "clock.now").first?.calls == 0)
        try await served.kernel.expectHealthy()
    }

    @Test func noKeyAWrongKeyAndARevokedKeyAre401() async throws {
        let served = try await serve()
        defer { _ = served.kernel.stop() }
        for (key, message) in [("-", "no API key"), ("aos-0123456789", "invalid API key"), (served.keys["revoked"]!, "invalid API key")] {
            let output = try await http(served, key: key, #"[["list"]]"#)
            #expect(output["connect_error"]?.asString?.contains(message) == true, "\(key): \(output.jsonText)")
        }
        let raw = await curl([served.url, "-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream",
                              "-d", #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#])
        #expect(raw.status == 401 && raw.headers.lowercased().contains("www-authenticate: bearer"), "\(raw)")
        #expect(raw.body.contains(#""jsonrpc":"2.0""#) && raw.body.contains("no API key"), "\(raw.body)")
        #expect(try await served.kernel.client.audit().contains { $0.syscall == "api" && $0.reason.contains("unknown or revoked") })
        try await served.kernel.expectHealthy()
    }

    @Test func unknownToolsBadArgumentsAndFailingToolsGetSpecificErrors() async throws {
        let served = try await serve()
        defer { _ = served.kernel.stop() }
        let results = results(try await http(served, key: served.keys["all"]!, #"""
            [["call", "calculator.pow", {"a": 2}],
             ["call", "calculator.add", {"a": 1, "b": "2"}],
             ["call", "calculator.add", {"a": 1}],
             ["call", "calculator.add", {"a": 1, "b": 2, "c": 3}],
             ["call", "calculator.divide", {"a": 1, "b": 0}],
             ["call", "clock.now", {}]]
            """#))
        try #require(results.count == 6)
        // An unknown tool is a protocol error (invalid params); the others are results the model can read.
        #expect(results[0]["error"]?["code"] == .integer(-32602), "\(results[0].jsonText)")
        #expect(results[0]["error"]?["message"]?.asString?.contains("no tool named calculator.pow") == true)
        #expect(results[1]["isError"] == .bool(true) && results[1]["text"] == .string(#"calculator.add: argument "b" is a string; expected double"#), "\(results[1].jsonText)")
        #expect(results[2]["isError"] == .bool(true) && results[2]["text"]?.asString?.contains(#"missing required argument "b""#) == true, "\(results[2].jsonText)")
        #expect(results[3]["isError"] == .bool(true) && results[3]["text"]?.asString?.contains(#""c""#) == true, "\(results[3].jsonText)")
        #expect(results[4]["isError"] == .bool(true) && results[4]["text"] == .string("calculator.divide failed: division by zero"), "\(results[4].jsonText)")
        #expect(results[5]["isError"] == .bool(false) && results[5]["text"]?.asString?.contains("T") == true, "\(results[5].jsonText)")
        try await served.kernel.expectHealthy()
    }

    @Test func aKeyOverItsToolQuotaIsRefusedAndAudited() async throws {
        let served = try await serve()
        defer { _ = served.kernel.stop() }
        let results = results(try await http(served, key: served.keys["slow"]!, #"[["call", "calculator.add", {"a": 1, "b": 2}], ["call", "calculator.add", {"a": 1, "b": 2}]]"#))
        #expect(results.first?["text"] == .string("3"), "\(results)")
        #expect(results.last?["error"]?["code"] == .integer(-32029), "\(results)")
        #expect(results.last?["error"]?["message"]?.asString?.contains("over its tool_calls_per_minute quota (1)") == true, "\(results)")
        #expect(try await served.kernel.client.audit().contains { $0.agent == "key:slow" && $0.quota == "tool_calls_per_minute" })
        // Other keys are not charged.
        let other = self.results(try await http(served, key: served.keys["all"]!, #"[["call", "calculator.add", {"a": 2, "b": 2}]]"#))
        #expect(other.first?["text"] == .string("4"))
    }

    @Test func rawHTTPShapesAndBadBodies() async throws {
        let served = try await serve()
        defer { _ = served.kernel.stop() }
        let auth = ["-H", "Authorization: Bearer \(served.keys["all"]!)"]
        let json = ["-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream"]
        let get = await curl(auth + [served.url])
        #expect(get.status == 405 && get.headers.lowercased().contains("allow: post"), "\(get)")
        let malformed = await curl(auth + json + [served.url, "-d", #"{"jsonrpc": "2.0", "id": 1, "#])
        #expect(malformed.status == 400 && malformed.body.contains("-32700"), "\(malformed)")
        let noAccept = await curl(auth + ["-H", "Content-Type: application/json", "-H", "Accept: text/html", served.url, "-d", #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#])
        #expect(noAccept.status == 406, "\(noAccept)")
        let unknownMethod = await curl(auth + json + [served.url, "-d", #"{"jsonrpc":"2.0","id":7,"method":"resources/list"}"#])
        #expect(unknownMethod.status == 200 && unknownMethod.body.contains("-32601"), "\(unknownMethod)")
        let call = await curl(auth + json + [served.url, "-d", #"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"calculator.sqrt","arguments":{"x":16}}}"#])
        #expect(call.status == 200 && call.body.contains(#""id":"x""#) && call.body.contains(#""text":"4""#), "\(call)")
        let big = served.kernel.scratch("big.json")
        try Data((#"{"jsonrpc":"2.0","id":1,"method":"tools/list","pad":""# + String(repeating: "a", count: 7 << 20) + "\"}").utf8).write(to: URL(fileURLWithPath: big))
        let oversize = await curl(auth + json + [served.url, "--data-binary", "@" + big])
        #expect(oversize.status == 413, "\(oversize.status) \(oversize.body.prefix(200))")
        try await served.kernel.expectHealthy()
    }

    @Test func agentctlMCPServeOffersTheToolsOnStdio() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        try await kernel.load("calculator")
        try await kernel.load("clock")
        let output = try await python([
            "stdio", #"[["list"], ["call", "calculator.multiply", {"a": 12.5, "b": 4}], ["call", "clock.now", {}], ["call", "calculator.pow", {}], ["call", "calculator.add", {"a": true, "b": 1}]]"#,
            Paths.agentctl.path, "mcp", "serve", "--tools", "calculator.*",
        ], home: kernel.home)
        let results = results(output)
        try #require(results.count == 5)
        #expect(toolNames(results[0]).sorted() == ["calculator.add", "calculator.divide", "calculator.multiply", "calculator.sqrt"])
        #expect(results[1]["text"] == .string("50"), "\(results[1].jsonText)")
        #expect(results[2]["error"]?["code"] == .integer(-32003) && results[2]["error"]?["message"]?.asString?.contains("not offered here") == true, "\(results[2].jsonText)")
        #expect(results[3]["error"]?["code"] == .integer(-32602), "\(results[3].jsonText)")
        #expect(results[4]["isError"] == .bool(true), "\(results[4].jsonText)")
        try await kernel.expectHealthy()
    }

    @Test func agentctlMCPServeWithoutAKernelExitsWithItsMessage() async throws {
        let home = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try CommandResult.run(Paths.agentctl, ["mcp", "serve"], environment: ["AGENTOS_HOME": home])
        #expect(result.status == 3 && result.stderr.contains("kernel not running"), "\(result.stderr)")
        let bad = try CommandResult.run(Paths.agentctl, ["mcp", "serve", "--timeout", "0"], environment: ["AGENTOS_HOME": home])
        #expect(bad.status == 2 && bad.stderr.contains("--timeout"), "\(bad.stderr)")
    }
}
