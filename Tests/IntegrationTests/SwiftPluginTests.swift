import ControlAPI
import ControlClient
import Foundation
import Testing

/// Plugins written in Swift with AgentOSKit (and C++ with agentos.hpp), loaded
/// into a real kernel like C ones: the examples (units, triage, relay) and
/// swiftprobe, which drives every wrapper on command. Bad input: handlers that
/// throw, a plugin built by another toolchain, an agent unloaded while its
/// handler waits for the model. (A Swift trap is in FatalPathTests.)
@Suite struct SwiftPluginTests {
    @Test func unitsToolTableIsMadeFromTheSwiftDeclarations() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("units")
        let tools = try await kernel.client.tools(matching: "units.*")
        let convert = try #require(tools.first { $0.name == "units.convert" })
        #expect(convert.parameters.contains(#""value":{"type":"number","description":"the amount to convert"}"#), "\(convert)")
        #expect(convert.parameters.contains(#""required":["value","from","to"]"#), "\(convert)")
        #expect(convert.returns == "double" && convert.threadSafe)
        #expect(tools.first { $0.name == "units.list" }?.parameters.contains(#""required":[]"#) == true)

        #expect(try await kernel.client.callTool("units.convert", arguments: #"{"value": 3, "from": "mi", "to": "km"}"#).result == "4.828032")
        #expect(try await kernel.client.callTool("units.celsius_to_fahrenheit", arguments: #"{"celsius": 100}"#).result == "212")
        #expect(try await kernel.client.callTool("units.list", arguments: #"{"quantity": "mass"}"#).result
            .replacingOccurrences(of: " ", with: "") == #"{"mass":["g","kg","lb","oz"]}"#)
        // A thrown ToolError is the call's failure, with its message.
        let message = await expectAPIError("tool_failed") {
            try await kernel.client.callTool("units.convert", arguments: #"{"value": 1, "from": "kg", "to": "m"}"#)
        }
        #expect(message.contains("cannot convert mass (kg) to length (m)"), "\(message)")
        // The kernel checks the declared types before the closure runs.
        await expectAPIError("invalid_tool_arguments") {
            try await kernel.client.callTool("units.convert", arguments: #"{"value": "3", "from": "mi", "to": "km"}"#)
        }
        #expect(try await kernel.client.callTool("units.convert", arguments: #"{"value": 0, "from": "C", "to": "F"}"#).result == "32")
        try await kernel.expectHealthy()
    }

    @Test func everyToolArgumentAndResultTypeCrossesTheClosure() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("swiftcalc")
        let all = #"{"i32": -5, "i64": -9000000000, "u32": 4000000000, "u64": 18000000000000000000, "f": 1.5, "b": true, "i": 7, "s": "héllo"}"#
        #expect(try await kernel.client.callTool("swiftcalc.types", arguments: all).result
            == #""-5 -9000000000 4000000000 18000000000000000000 1.5 true 7 héllo nil""#)
        let withOptional = all.dropLast() + #", "opt": "here"}"#
        #expect(try await kernel.client.callTool("swiftcalc.types", arguments: String(withOptional)).result.hasSuffix(#"héllo here""#))
        #expect(try await kernel.client.callTool("swiftcalc.negate", arguments: #"{"v": 7}"#).result == "-7")
        #expect(try await kernel.client.callTool("swiftcalc.flip", arguments: #"{"v": false}"#).result == "true")
        #expect(try await kernel.client.callTool("swiftcalc.half", arguments: #"{"v": 3}"#).result == "1.5")
        #expect(try await kernel.client.callTool("swiftcalc.multiply", arguments: #"{"a": 12.5, "b": 4}"#).result == "50")
        // Tool(needsApproval: true) sets AOS_TOOL_NEEDS_APPROVAL; calls by code do not wait for it.
        let flags = try await kernel.client.tools(matching: "swiftcalc.*").map { "\($0.name) \($0.needsApproval)" }
        #expect(flags.contains("swiftcalc.refund true") && flags.contains("swiftcalc.multiply false"), "\(flags)")
        #expect(try await kernel.client.callTool("swiftcalc.refund", arguments: #"{"amount": 5}"#).result == #""refunded 5""#)
    }

    @Test func probeDrivesEveryMessagingToolAndAdminWrapper() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        try await kernel.load("units")
        try await kernel.load("swiftprobe", grants: ["send:echo", "send:swiftecho", "tool:units.*", "admin", "infer"])
        let probe = { (command: String) in try await kernel.ask("swiftprobe", command) }

        #expect(try await probe("call echo round trip") == "round trip")
        #expect(try await probe("send echo one way") == "sent")
        #expect(try await kernel.waitForLog("echo", containing: "echo: one way"))
        #expect(try await probe("call nobody hi").hasPrefix("error AOS_EPERM: permission denied: swiftprobe does not hold send:nobody"))
        #expect(try await probe("tool units.convert {\"value\": 1, \"from\": \"km\", \"to\": \"m\"}") == "1000")
        #expect(try await probe("tool units.convert {\"value\": 1, \"from\": \"km\", \"to\": \"kg\"}") == "error AOS_ETOOL: cannot convert length (km) to mass (kg)")
        #expect(try await probe("tools units.c*").contains(#""name":"units.convert""#))
        #expect(try await probe("self").hasPrefix("swiftprobe "))
        #expect(try await probe("self").hasSuffix(" 1048576 1024 abi 1.12"))
        let now = try await probe("now").split(separator: " ")
        #expect(abs(Double(now[0])! - Date().timeIntervalSince1970) < 60 && now[1] == "true")
        #expect(try await probe("log through swift-log") == "logged")
        #expect(try await kernel.waitForLog("swiftprobe", containing: "through swift-log from=agentctl"))
        // No engine: the inference wrappers throw the kernel's status and reason.
        #expect(try await probe("infer hello").hasPrefix("error AOS_EUNAVAIL"))
        #expect(try await probe("stream hello").hasPrefix("error AOS_EUNAVAIL"))

        // Administration, and delegation narrowing to what the caller holds.
        #expect(try await probe("load \(Paths.plugin("swiftecho")) swiftecho") == "loaded")
        #expect(try await probe("delegate swiftecho send:echo lent") == "lent")
        #expect(try await probe("delegate swiftecho send:counter lent").hasPrefix("error AOS_EPERM"))
        #expect(try await probe("unload swiftecho") == "unloaded")
        #expect(try await probe("call swiftecho gone").hasPrefix("error AOS_ENOTFOUND"))
        try await kernel.expectHealthy()
    }

    @Test func probeStoresThroughTheStorageWrappers() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("swiftprobe", grants: ["kv"])
        let probe = { (command: String) in try await kernel.ask("swiftprobe", command) }
        #expect(try await probe("kv-put note 0 first words") == "version 1")
        #expect(try await probe("kv-put note 0 again") == "error AOS_ECONFLICT: kv_put: the key is at version 1, not the one expected")
        #expect(try await probe("kv-put note 1 second") == "version 2")
        #expect(try await probe("kv-get note") == "2 second")
        #expect(try await probe("kv-ls no") == #"{"keys":[{"key":"note","version":2,"bytes":6}],"next":null}"#)
        #expect(try await probe("kv-get note other").hasPrefix("error AOS_EPERM: permission denied: swiftprobe does not hold kv:other:ro"))
        #expect(try await probe("kv-rm note") == "removed")
        #expect(try await probe("kv-rm note") == "absent")
        #expect(try await probe("kv-get note") == "absent")
    }

    @Test func thrownErrorsBecomeStatusesAndLogLinesAndTheKernelGoesOn() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("swiftprobe")
        await expectAPIError("handler_failed") { try await kernel.ask("swiftprobe", "throw") }
        #expect(try await kernel.waitForLog("swiftprobe", containing: "handler failed: the probe was told to throw"))
        #expect(try await kernel.waitForLog("swiftprobe", containing: "on_message returned AOS_EHANDLER"))
        await expectAPIError("handler_failed") { try await kernel.ask("swiftprobe", "fail") }
        #expect(try await kernel.waitForLog("swiftprobe", containing: "handler failed: AOS_EQUOTA (quota exceeded): told to fail"))
        #expect(try await kernel.waitForLog("swiftprobe", containing: "on_message returned AOS_EQUOTA"))
        // The same instance keeps working.
        #expect(try await kernel.ask("swiftprobe", "unknown") == "unknown command unknown")

        // A throwing init fails the load with its status, named.
        await expectAPIError("init_failed") { try await kernel.load("swiftprobe", as: "early", config: "fail-init") }
        #expect(try await kernel.listed("early")?.state == "failed")
        #expect(try await kernel.waitForLog("early", containing: "init failed: AOS_EINVAL (invalid argument): told to fail in init"))
        try await kernel.expectHealthy()
    }

    @Test func swiftAgentsShareTheirLibraryAndSurviveReloads() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for round in 0..<3 {
            try await kernel.load("swiftecho", as: "a\(round)")
            try await kernel.load("swiftecho", as: "b\(round)")
            #expect(try await kernel.ask("a\(round)", "x\(round)") == "x\(round)")
            #expect(try await kernel.ask("b\(round)", "y\(round)") == "y\(round)")
            _ = try await kernel.client.unload("a\(round)")
            _ = try await kernel.client.unload("b\(round)")
        }
        // Swift metadata of the unloaded copies is still consulted by the runtime: it must stay mapped.
        try await kernel.load("units")
        #expect(try await kernel.client.callTool("units.list", arguments: "{}").result.contains("temperature"))
        try await kernel.expectHealthy()
    }

    @Test func pluginBuiltByAnotherToolchainIsRefusedByName() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        // The runtime string as another toolchain would have written it: one byte of the clang version changed.
        var bytes = try PluginFiles.bytes(of: "swiftecho")
        let marker = Array("swift; clang ".utf8)
        let start = try #require(bytes.indices.first { bytes[$0...].starts(with: marker) }, "no runtime string in swiftecho.so")
        let digit = start + marker.count
        bytes[digit] = bytes[digit] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        let path = kernel.scratch("otherswift.so")
        try PluginFiles.write(bytes, to: path)
        let message = await expectAPIError("runtime_mismatch", status: 422) { try await kernel.client.load(LoadRequest(path: path)) }
        #expect(message.contains("built for the runtime \"swift; clang "), "\(message)")
        #expect(message.contains("rebuild the plugin with the kernel's Swift toolchain"), "\(message)")
        try await kernel.expectHealthy()
    }

    @Test func cppRelayTurnsExceptionsIntoStatusesAndReleasesReplies() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        try await kernel.load("relay", grants: ["send:echo"])
        let answer = try await kernel.ask("relay", "echo hello there")
        #expect(answer.hasPrefix("echo replied in ") && answer.hasSuffix(" us: hello there"), "\(answer)")
        await expectAPIError("handler_failed") { try await kernel.ask("relay", "nospace") }
        #expect(try await kernel.waitForLog("relay", containing: "handler failed: AOS_EINVAL (invalid argument): expected 'AGENT TEXT', got 'nospace'"))
        await expectAPIError("handler_failed") { try await kernel.ask("relay", "nobody hi") }
        #expect(try await kernel.waitForLog("relay", containing: "handler failed: AOS_EPERM (permission denied): permission denied: relay does not hold send:nobody"))
        await expectAPIError("init_failed") { try await kernel.load("relay", as: "relay2", config: "x") }
        #expect(try await kernel.waitForLog("relay2", containing: "init failed: AOS_EINVAL (invalid argument): relay takes no config"))
        _ = try await kernel.client.unload("relay")
        #expect(try await kernel.waitForLog("relay", containing: "relay: stopped after 1 requests"))
        try await kernel.expectHealthy()
    }

    /// With the model: triage classifies with a JSON Schema (so its category is one
    /// of three, whatever the model) and routes a product question to support.
    @Test func triageClassifiesAndRoutesThroughCall() async throws {
        let kernel = try await KernelProcess(["--model", Paths.model])
        defer { kernel.stop() }
        try await kernel.load("catalog")
        try await kernel.load("support", grants: ["infer", "tool:catalog.*"])
        try await kernel.load("summarizer", grants: ["infer"])
        try await kernel.load("triage", grants: ["infer", "send:support", "send:summarizer"])
        for question in ["How much does the A-200 cost?", "My order arrived broken and I want my money back."] {
            let reply = try await kernel.ask("triage", question, timeoutMs: 180_000)
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: String], "\(reply)")
            let category = try #require(answer["category"], "\(reply)")
            #expect(["product", "complaint", "other"].contains(category), "\(reply)")
            #expect(answer["routed_to"] == ["product": "support", "complaint": "summarizer"][category], "\(reply)")
            #expect(!(answer["answer"] ?? "").isEmpty, "\(reply)")
        }
        #expect(try await kernel.waitForLog("triage", containing: "message 2 from agentctl: "))
        // A config it does not understand fails the load with the reason.
        await expectAPIError("init_failed") { try await kernel.load("triage", as: "triage2", config: "billing=support") }
        #expect(try await kernel.waitForLog("triage2", containing: "config 'billing=support': expected product=AGENT or complaint=AGENT"))
    }

    /// With the model: blocking, streaming and submitted inference through the
    /// wrappers, then an unload while the handler waits in infer.
    @Test func inferenceWrappersAndUnloadDuringInference() async throws {
        let kernel = try await KernelProcess(["--model", Paths.model])
        defer { kernel.stop() }
        try await kernel.load("swiftprobe", grants: ["infer"])
        let infer = try await kernel.ask("swiftprobe", "infer Say hi.", timeoutMs: 60_000)
        #expect(infer.hasPrefix("stop ") || infer.hasPrefix("length 8:"), "\(infer)")
        let stream = try await kernel.ask("swiftprobe", "stream Count from one to twenty.", timeoutMs: 60_000)
        #expect(stream.hasPrefix("cancelled after 3 pieces: "), "\(stream)")
        let submitted = try await kernel.ask("swiftprobe", "submit Say hi.", timeoutMs: 60_000)
        #expect(submitted.hasPrefix("stop: ") || submitted.hasPrefix("length: "), "\(submitted)")

        let waiting = try kernel.startAgentctl(["send", "swiftprobe", "infer-long Write a very long story about kernels.", "--wait", "--timeout", "60"])
        #expect(try await kernel.eventually(30) { (try await kernel.listed("swiftprobe"))?.inference?.inFlight == 1 })
        let started = Date()
        _ = try await kernel.client.unload("swiftprobe")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try await kernel.waitForLog("swiftprobe", containing: "infer-long: AOS_ESTOPPING"))
        #expect(try await kernel.listed("swiftprobe")?.state == "stopped")
        let result = await waiting.finish(timeout: 30)
        // The handler saw the status and answered with it (the probe replies with its errors).
        #expect(result.stdout.hasPrefix("error AOS_ESTOPPING"), "\(result.stdout) \(result.stderr)")
        try await kernel.expectHealthy()
    }
}
