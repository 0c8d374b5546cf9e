import ControlAPI
import Foundation
import StrictJSON
import Testing

/// External MCP servers as kernel tools (`agentctl mcp add`), with a real
/// stdio server written with the `mcp` package (Tests/Fixtures/python/mcp_tool_server.py,
/// run by the venv `make python-peers` makes), and its bad behaviours: a
/// server that never starts, answers garbage, exits mid-call or hangs.
@Suite(.serialized) struct MCPClientTests {
    private var python: String { Paths.root.appendingPathComponent(".deps/python-peers/bin/python").path }
    private var server: String { Paths.root.appendingPathComponent("Tests/Fixtures/python/mcp_tool_server.py").path }

    private func add(_ kernel: KernelProcess, _ name: String, mode: String? = nil, _ modeArguments: String...) async throws -> CommandResult {
        try #require(FileManager.default.isExecutableFile(atPath: python), "no \(python): run `make python-peers`")
        var arguments = ["mcp", "add", name, "--", python, server]
        if let mode { arguments += [mode] + modeArguments }
        return try await kernel.startAgentctl(arguments).finish(timeout: 60)
    }

    private func server(_ kernel: KernelProcess, _ name: String) async throws -> MCPServerInfo? {
        try await kernel.client.mcpServers().first { $0.name == name }
    }

    @Test func anAddedServersToolsAreKernelToolsBehindCapabilities() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        let added = try await add(kernel, "fx")
        #expect(added.status == 0 && added.stdout.contains("fx.multiply") && added.stdout.contains("skipped odd.name"), "\(added.stdout) \(added.stderr)")
        let tools = try await kernel.client.tools(matching: "fx.*")
        #expect(tools.map(\.name) == ["fx.multiply", "fx.weather", "fx.fail", "fx.hang", "fx.sleepy", "fx.die"])
        #expect(tools.first?.plugin == "mcp:fx")
        #expect(try JSONParser.parse(tools[1].parameters)["properties"]?["city"]?["type"] == .string("string"))
        let product = try kernel.agentctl("call", "fx.multiply", #"{"a": 2, "b": 3}"#)
        #expect(product.status == 0 && product.stdout == "6\n", "\(product.stdout) \(product.stderr)")
        let weather = try kernel.agentctl("call", "fx.weather", #"{"city": "Oslo"}"#)
        #expect(try JSONParser.parse(weather.stdout)["temperature_c"] == .integer(21), "\(weather.stdout)")
        let failed = try kernel.agentctl("call", "fx.fail")
        #expect(failed.status == 1 && failed.stderr.contains("fx.fail failed"), "\(failed.stderr)")
        let bad = try kernel.agentctl("call", "fx.multiply", #"{"a": "x"}"#)
        #expect(bad.status == 1 && bad.stderr.contains("validation error"), "\(bad.stderr)")
        await expectAPIError("invalid_tool_arguments", status: 400) { try await kernel.client.callTool("fx.multiply", arguments: "[1]") }
        // The calls are counted like a plugin's.
        #expect(try await kernel.client.tools(matching: "fx.multiply").first?.calls == 2)

        // An agent's tool_call syscall: its tool: grants decide, and a denial is audited.
        try await kernel.load("toolcaller", grants: ["tool:fx.multiply"])
        let product20 = try await kernel.ask("toolcaller", #"call fx.multiply {"a": 4, "b": 5}"#)
        #expect(product20.hasPrefix("ok|20"), "\(product20)")
        let denied = try await kernel.ask("toolcaller", #"call fx.weather {"city": "Oslo"}"#)
        #expect(denied.hasPrefix("err|"), "\(denied)")
        #expect(try await kernel.client.audit().contains { $0.agent == "toolcaller" && $0.capability == "tool:fx.weather" })

        // Removed: its tools go, its registration too.
        #expect(try kernel.agentctl("mcp", "rm", "fx").status == 0)
        #expect(try await kernel.client.tools(matching: "fx.*").isEmpty)
        let gone = try kernel.agentctl("call", "fx.multiply", #"{"a": 2, "b": 3}"#)
        #expect(gone.status == 1 && gone.stderr.contains("no tool named fx.multiply"), "\(gone.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func aRegistrationSurvivesAKernelRestartWhichStopsTheServerFirst() async throws {
        let first = try await KernelProcess()
        #expect(try await add(first, "fx").status == 0)
        let pid = try #require(try await server(first, "fx")?.pid)
        let root = first.root
        first.signal(SIGTERM)  // not stop(): that removes the home
        _ = await first.waitForExit()
        // The kernel waited for its server's process to end (stdin closed, then signals).
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "mcp server \(pid) outlived the kernel")
        let second = try await KernelProcess(root: root)
        defer { _ = second.stop() }
        #expect(try await second.eventually(20) { try await server(second, "fx")?.state == "running" })
        #expect(try second.agentctl("call", "fx.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
    }

    @Test func serversThatNeverStartOrAnswerGarbageAreRefusedWithTheReason() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        let never = try await add(kernel, "never", mode: "never")
        #expect(never.status == 1 && never.stderr.contains("exited with status 3 before answering MCP's initialize"), "\(never.stderr)")
        let garbage = try await add(kernel, "garbage", mode: "garbage")
        #expect(garbage.status == 1 && garbage.stderr.contains("did not answer MCP's initialize within"), "\(garbage.stderr)")
        let missing = try kernel.agentctl("mcp", "add", "missing", "--", "/no/such/program")
        #expect(missing.status == 1 && missing.stderr.contains("cannot start /no/such/program"), "\(missing.stderr)")
        let badName = try kernel.agentctl("mcp", "add", "a.b", "--", python, server)
        #expect(badName.status == 1 && badName.stderr.contains("must be 1 to 64 of A-Z a-z 0-9 _ -"), "\(badName.stderr)")
        let noCommand = try kernel.agentctl("mcp", "add", "x")
        #expect(noCommand.status == 2 && noCommand.stderr.contains("give the server's command after --"), "\(noCommand.stderr)")
        #expect(try await kernel.client.mcpServers().isEmpty)
        #expect(try await add(kernel, "fx").status == 0)
        let twice = try await add(kernel, "fx")
        #expect(twice.status == 1 && twice.stderr.contains("an MCP server named fx is registered"), "\(twice.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func aServerThatExitsMidCallIsRestarted() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        #expect(try await add(kernel, "fx").status == 0)
        let firstPid = try await server(kernel, "fx")?.pid
        let died = try kernel.agentctl("call", "fx.die")
        #expect(died.status == 1 && died.stderr.contains("exited with status 7 during the call of die"), "\(died.stderr)")
        #expect(try await kernel.eventually(20) {
            let info = try await server(kernel, "fx")
            return info?.state == "running" && info?.restarts == 1 && info?.pid != firstPid
        })
        #expect(try kernel.agentctl("call", "fx.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
        try await kernel.expectHealthy()
    }

    /// The tools are listed again when the server comes back: one removed, one added.
    @Test func aRestartedServersNewToolSetIsOffered() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        let marker = kernel.scratch("grown")
        #expect(try await add(kernel, "fx", mode: "grows", marker).status == 0)
        #expect(try await kernel.client.tools(matching: "fx.*").map(\.name).contains("fx.weather"))
        #expect(FileManager.default.createFile(atPath: marker, contents: nil))
        #expect(try kernel.agentctl("call", "fx.die").status == 1)
        let expected = ["fx.multiply", "fx.fail", "fx.hang", "fx.sleepy", "fx.die", "fx.grow", "fx.extra"]
        #expect(try await kernel.eventually(20) {
            guard try await server(kernel, "fx")?.state == "running" else { return false }
            return try await kernel.client.tools(matching: "fx.*").map(\.name) == expected
        })
        let listed = try kernel.agentctl("tools")
        #expect(listed.stdout.contains("fx.extra") && !listed.stdout.contains("fx.weather"), "\(listed.stdout)")
        #expect(try kernel.agentctl("call", "fx.extra").stdout == "\"extra\"\n")
        try await kernel.expectHealthy()
    }

    /// notifications/tools/list_changed from a running server: listed again, no restart.
    @Test func toolListChangedIsHonouredWithoutARestart() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        #expect(try await add(kernel, "fx", mode: "grows", kernel.scratch("grown")).status == 0)
        #expect(try kernel.agentctl("call", "fx.grow").stdout == "\"grown\"\n")
        #expect(try await kernel.eventually(20) {
            let names = try await kernel.client.tools(matching: "fx.*").map(\.name)
            return names.contains("fx.extra") && !names.contains("fx.weather")
        })
        #expect(try await server(kernel, "fx")?.restarts == 0)
        #expect(try await server(kernel, "fx")?.tools.contains("fx.extra") == true)
        #expect(try kernel.agentctl("call", "fx.extra").stdout == "\"extra\"\n")
        try await kernel.expectHealthy()
    }

    @Test func aCallThatTimesOutIsCancelledAndAServerThatStillAnswersPingsIsKept() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        #expect(try await add(kernel, "fx").status == 0)
        let pid = try await server(kernel, "fx")?.pid
        let slow = try await kernel.startAgentctl(["call", "fx.sleepy", "--timeout", "2"]).finish(timeout: 60)
        #expect(slow.status == 1 && slow.stderr.contains("fx.sleepy did not return within 2 s"), "\(slow.stderr)")
        // The server was told (notifications/cancelled): the tool saw its cancellation.
        let log = kernel.home.path + "/mcp/fx.log"
        #expect(try await kernel.eventually(30) { (try? String(contentsOfFile: log, encoding: .utf8))?.contains("sleepy cancelled") == true })
        #expect(try kernel.agentctl("call", "fx.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
        let info = try await server(kernel, "fx")
        #expect(info?.pid == pid && info?.restarts == 0 && info?.state == "running", "\(String(describing: info))")
        try await kernel.expectHealthy()
    }

    @Test func aServerThatHangsInACallIsRestarted() async throws {
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        #expect(try await add(kernel, "fx").status == 0)
        let firstPid = try await server(kernel, "fx")?.pid
        // hang blocks the whole server: the call times out, the ping after it goes unanswered.
        let hung = try await kernel.startAgentctl(["call", "fx.hang", "--timeout", "2"]).finish(timeout: 60)
        #expect(hung.status == 1 && hung.stderr.contains("fx.hang did not return within 2 s"), "\(hung.stderr)")
        #expect(try await kernel.eventually(90) {
            let info = try await server(kernel, "fx")
            return info?.state == "running" && info?.restarts == 1 && info?.pid != firstPid
        })
        #expect(try await server(kernel, "fx")?.lastError?.contains("did not answer a ping within 10.0 seconds after a call of hang timed out") == true)
        if let firstPid { #expect(kill(firstPid, 0) == -1, "the hung server \(firstPid) is still alive") }
        #expect(try kernel.agentctl("call", "fx.weather", #"{"city": "Oslo"}"#).status == 0)
        try await kernel.expectHealthy()
    }

    @Test func theToolLoopCallsAnMCPServersTool() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { _ = kernel.stop() }
        #expect(try await add(kernel, "fx").status == 0)
        let result = try await kernel.agentctlAsync(
            "infer", "--tools", "fx.multiply", "--require-tool", "-o", "json", "What is 12.5 times 4?", timeout: 240)
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try ControlJSON.decoder().decode(InferResult.self, from: Data(result.stdout.utf8))
        let step = try #require(answer.steps?.first, "no tool call: \(answer.text)")
        #expect(step.tool == "fx.multiply" && step.error == nil, "\(step)")
        // The model's numbers vary with the CPU's arithmetic (see ToolTests): check the
        // MCP server computed the product of what the model passed.
        let arguments = try JSONParser.parse(step.arguments)
        let (a, b) = (Self.number(arguments["a"]), Self.number(arguments["b"]))
        #expect(a != nil && b != nil, "\(step.arguments)")
        if let a, let b, let result = step.result.flatMap(Double.init) { #expect(result == a * b, "\(step)") }
        else { Issue.record("the tool result is not a number: \(step)") }
        #expect(try await kernel.client.tools(matching: "fx.multiply").first?.calls == 1)
    }

    private static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let integer)?: Double(integer)
        case .unsigned(let unsigned)?: Double(unsigned)
        case .number(let number)?: number
        default: nil
        }
    }
}
