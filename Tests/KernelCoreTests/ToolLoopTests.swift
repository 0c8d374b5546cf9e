import AgentOSTesting
import Foundation
import KernelCore
import KernelPOSIX
import StrictJSON
import Synchronization
import Testing

/// The kernel's tool loop with a scripted model and real tool plugins
/// (calculator, tooltypes): calls, feedback, repeats, limits, cancellation.
@Suite(.serialized) struct ToolLoopTests {
    /// A kernel with `script` as its model and the calculator and tooltypes plugins loaded.
    private func kernel(_ script: @escaping SimulatedEngine.Script) async throws -> (Kernel, SimulatedEngine) {
        let engine = SimulatedEngine(driver: .thread, script: script)
        let kernel = try TestKernel.withPluginFiles(engine: engine)
        _ = try await kernel.lifecycle.load(path: pluginPath("calculator"))
        _ = try await kernel.lifecycle.load(path: pluginPath("tooltypes"))
        return (kernel, engine)
    }

    private func run(
        _ kernel: Kernel, tools: [String] = ["calculator.*"], choice: ToolChoice = .auto, maxSteps: Int = 8
    ) async throws -> (Result<InferenceResult, KernelError>, Recorder) {
        let sink = Recorder()
        _ = try kernel.inference.submit(
            agent: "test", priority: 0,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "What is 12.5 times 4?")], maxTokens: 64),
            tools: ToolUse(patterns: tools, choice: choice, maxSteps: maxSteps), sink: sink)
        let outcome = try #require(await sink.outcome(within: 10))
        return (outcome, sink)
    }

    /// Tool turns so far in a chat.
    private static func toolResults(_ parameters: InferenceParameters) -> [String] {
        parameters.messages.filter { $0.role == "tool" }.map(\.content)
    }

    private static func call(_ name: String, _ arguments: String, id: String = "call_0") -> [ToolCallRequest] {
        [ToolCallRequest(id: id, name: name, arguments: arguments)]
    }

    @Test func runsTheCallFeedsTheResultBackAndReturnsTheAnswerWithItsTrace() async throws {
        let (kernel, engine) = try await kernel { parameters in
            let results = Self.toolResults(parameters)
            return results.isEmpty ? ("", Self.call("calculator.multiply", #"{"a": 12.5, "b": 4}"#)) : ("It is \(results[0]).", [])
        }
        let (outcome, sink) = try await run(kernel, choice: .required)
        let result = try outcome.get()
        #expect(result.text == "It is 50.")
        #expect(result.steps?.count == 1)
        #expect(result.steps?.first?.tool == "calculator.multiply")
        #expect(try result.steps?.first?.outcome.get() == "50")
        #expect(sink.streamedSteps == result.steps)
        let turns = engine.turns
        #expect(turns.count == 2)
        #expect(turns[0].toolChoice == .required && turns[1].toolChoice == .auto)
        #expect(turns[0].tools.map(\.name) == ["calculator.add", "calculator.multiply", "calculator.divide", "calculator.sqrt"])
        #expect(turns[1].messages.contains { $0.role == "assistant" && $0.toolCalls?.first?.name == "calculator.multiply" })
        let trace = try JSONParser.parse(try #require(result.traceJSON))
        guard case .array(let entries) = trace else { Issue.record("trace is not an array"); return }
        #expect(entries.first?["tool"] == .string("calculator.multiply"))
        #expect(entries.first?["arguments"]?["a"] == .number(12.5))
        #expect(entries.first?["result"] == .integer(50))
    }

    @Test func aToolThatWasNotOfferedIsRefusedAndFedBackAsAnError() async throws {
        let (kernel, engine) = try await kernel { parameters in
            Self.toolResults(parameters).isEmpty ? ("", Self.call("tooltypes.echo_i32", #"{"v": 1}"#)) : ("sorry", [])
        }
        let result = try await run(kernel).0.get()
        #expect(result.text == "sorry")
        #expect(result.steps?.first?.outcome == .failure(KernelError(.toolNotFound, "tool tooltypes.echo_i32 was not offered to the model")))
        #expect(Self.toolResults(engine.turns[1]).first?.contains("was not offered") == true)
        #expect(kernel.tools.toolDescriptions(matching: ["tooltypes.echo_i32"]).first?.calls == 0)
    }

    @Test func badArgumentsFromTheModelAreFedBackAndNeverReachTheTool() async throws {
        let (kernel, engine) = try await kernel { parameters in
            Self.toolResults(parameters).isEmpty ? ("", Self.call("calculator.sqrt", #"{"x": "nine"}"#)) : ("fine", [])
        }
        let result = try await run(kernel).0.get()
        guard case .failure(let error)? = result.steps?.first?.outcome else { Issue.record("the call succeeded"); return }
        #expect(error.code == .invalidToolArguments && error.message.contains(#"argument "x" is a string"#))
        #expect(Self.toolResults(engine.turns[1]).first?.hasPrefix(#"{"error":"#) == true)
        #expect(kernel.tools.toolDescriptions(matching: ["calculator.sqrt"]).first?.calls == 0)
    }

    @Test func aToolsOwnErrorIsFedBackToTheModel() async throws {
        let (kernel, engine) = try await kernel { parameters in
            Self.toolResults(parameters).isEmpty ? ("", Self.call("calculator.divide", #"{"a": 1, "b": 0}"#)) : ("cannot", [])
        }
        let result = try await run(kernel).0.get()
        #expect(result.steps?.first?.outcome == .failure(KernelError(.toolFailed, "division by zero")))
        #expect(Self.toolResults(engine.turns[1]) == [#"{"error":"division by zero"}"#])
    }

    @Test func aRepeatedCallIsNotRunAgainAndTheNextTurnMustAnswer() async throws {
        let (kernel, engine) = try await kernel { parameters in
            parameters.toolChoice == .none ? ("It is 50.", []) : ("", Self.call("calculator.multiply", #"{"b":4,"a":12.5}"#))
        }
        let result = try await run(kernel).0.get()
        #expect(result.text == "It is 50.")
        #expect(result.steps?.count == 2)
        guard case .failure(let error)? = result.steps?.last?.outcome else { Issue.record("the repeat ran"); return }
        #expect(error.code == .toolLoop)
        #expect(kernel.tools.toolDescriptions(matching: ["calculator.multiply"]).first?.calls == 1)
        #expect(engine.turns.map(\.toolChoice) == [.auto, .auto, .none])
        // The repeat stays out of the chat: the answer turn sees one call and one result.
        #expect(engine.turns[2].messages.filter { $0.role == "tool" }.count == 1)
    }

    @Test func aModelThatIgnoresTheOrderToAnswerEndsWithALoopError() async throws {
        let (kernel, _) = try await kernel { _ in ("", Self.call("calculator.add", #"{"a": 1, "b": 2}"#)) }
        let outcome = try await run(kernel).0
        #expect(throws: KernelError.self) { try outcome.get() }
        if case .failure(let error) = outcome { #expect(error.code == .toolLoop && error.status == .toolLoop) }
    }

    @Test func theStepLimitIsANamedError() async throws {
        let (kernel, engine) = try await kernel { parameters in
            ("", Self.call("calculator.add", #"{"a": \#(parameters.messages.count), "b": 1}"#))
        }
        let outcome = try await run(kernel, maxSteps: 3).0
        guard case .failure(let error) = outcome else { Issue.record("the loop answered"); return }
        #expect(error.code == .toolStepLimit && error.message.contains("within 3 turns"))
        #expect(engine.turns.count == 3)
    }

    @Test func patternsThatMatchNoToolAreRefusedAtOnce() async throws {
        let (kernel, _) = try await kernel { _ in ("", []) }
        #expect {
            _ = try kernel.inference.submit(
                agent: "test", priority: 0,
                parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 8),
                tools: ToolUse(patterns: ["weather.*"]), sink: Recorder())
        } throws: { error in
            (error as? KernelError)?.code == .toolNotFound
        }
    }

    @Test func cancellingBetweenTurnsEndsTheLoop() async throws {
        let gate = DispatchSemaphore(value: 0)
        let (kernel, engine) = try await kernel { parameters in
            if !Self.toolResults(parameters).isEmpty { gate.wait() }
            return ("", Self.call("calculator.add", #"{"a": \#(parameters.messages.count), "b": 1}"#))
        }
        let sink = Recorder()
        let handle = try kernel.inference.submit(
            agent: "test", priority: 0,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "add")], maxTokens: 8),
            tools: ToolUse(patterns: ["calculator.*"]), sink: sink)
        // The second turn has begun: the model waits at the gate.
        #expect(await waitUntil { engine.turns.count == 2 })
        #expect(kernel.inference.cancel(id: handle.id, owner: nil))
        gate.signal()
        let result = try #require(await sink.outcome(within: 10)).get()
        #expect(result.finishReason == .cancelled)
    }

    /// An agent's loop offers the model only the tools it holds; a call outside
    /// them (a model without a grammar can make one) is refused, audited and
    /// fed back, and a revoke between turns applies to the next call.
    @Test func aCallOutsideTheAgentsGrantsIsRefusedAuditedAndFedBack() async throws {
        let kernelBox = Mutex<Kernel?>(nil)
        let engine = SimulatedEngine(driver: .thread) { parameters in
            switch Self.toolResults(parameters).count {
            case 0: return ("", Self.call("calculator.multiply", #"{"a": 2, "b": 3}"#))  // matched, not held
            case 1: return ("", Self.call("calculator.add", #"{"a": 2, "b": 3}"#, id: "call_1"))  // held
            case 2:  // the operator revokes it before the model's next call
                _ = try? kernelBox.withLock { $0 }?.capabilities.revoke(.tool("calculator.add"), from: "probe")
                return ("", Self.call("calculator.add", #"{"a": 1, "b": 1}"#, id: "call_2"))
            default: return ("done", [])
            }
        }
        let audit = AuditLog(sink: try AuditFile(path: NSTemporaryDirectory() + "agentos-audit-\(UUID().uuidString).jsonl"))
        let kernel = try TestKernel.withPluginFiles(engine: engine, audit: audit)
        _ = try await kernel.lifecycle.load(path: pluginPath("calculator"))
        _ = try await kernel.lifecycle.load(path: pluginPath("capsprobe"), name: "probe", grants: [.infer, .tool("calculator.add")])
        kernelBox.withLock { $0 = kernel }
        let reply = try await kernel.messages.deliver(to: "probe", body: Array("toolloop calculator.*".utf8), wait: true, timeoutMs: 20_000)
        #expect(String(decoding: reply.reply ?? [], as: UTF8.self) == "AOS_OK")

        let turns = engine.turns
        #expect(turns.first?.tools.map(\.name) == ["calculator.add"])
        let fedBack = turns.count > 3 ? Self.toolResults(turns[3]) : []
        #expect(fedBack.count == 3)
        #expect(fedBack.first?.contains("permission denied: probe may not call calculator.multiply") == true)
        #expect(fedBack.dropFirst().first == "5")
        #expect(fedBack.last?.contains("permission denied: probe may not call calculator.add") == true)
        #expect(kernel.tools.toolDescriptions(matching: ["calculator.multiply"]).first?.calls == 0)
        #expect(kernel.tools.toolDescriptions(matching: ["calculator.add"]).first?.calls == 1)
        let denials = audit.records(agent: "probe").filter { $0.decision == .deny }
        #expect(denials.contains { $0.capability == "tool:calculator.multiply" && $0.reason.contains("withheld from the model") })
        #expect(denials.contains { $0.capability == "tool:calculator.multiply" && $0.reason.contains("the model called") })
        #expect(denials.contains { $0.capability == "tool:calculator.add" && $0.reason.contains("the model called") })
        await kernel.lifecycle.shutdown(timeout: 5)
    }
}
