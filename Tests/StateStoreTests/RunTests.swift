import AgentOSTesting
import Foundation
import GRDB
import KernelCore
import StateStore
import Testing

/// Durable runs: the store on a real state database, and tool loops
/// checkpointed and resumed by a real kernel with the real calculator plugin
/// (dlopen) and a scripted model. The kill -9 of a real kernel is in
/// IntegrationTests/RunCommandsTests.
@Suite(.serialized) struct RunTests {
    private static func database() throws -> StateDatabase {
        try StateDatabase(path: NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite")
    }

    private static let request = RunRequest(
        parameters: {
            var parameters = InferenceParameters(messages: [ChatMessage(role: "user", content: "What is 2 times 3?")], maxTokens: 32)
            parameters.tools = [ToolDefinition(name: "calculator.multiply", description: "a times b", parameters: "{}")]
            return parameters
        }(), maxSteps: 8)

    private static func call(_ name: String, _ arguments: String, id: String = "call_0") -> ToolCallRequest {
        ToolCallRequest(id: id, name: name, arguments: arguments)
    }

    // MARK: The store

    @Test func aRunsRequestStepsAndEndComeBackAsStored() throws {
        let store = SQLiteRunStore(database: try Self.database())
        try store.begin(id: 7, agent: "support", reply: .mailbox, request: Self.request, now: 1000)
        let calls = [Self.call("calculator.multiply", #"{"a": 2, "b": 3}"#), Self.call("calculator.add", "{}", id: "call_1")]
        let usage = RunStepUsage(promptTokens: 40, cachedPromptTokens: 12, completionTokens: 9)
        try store.append(run: 7, step: .model(text: "", calls: calls, usage: usage), now: 1001)
        try store.append(run: 7, step: .tool(call: calls[0], outcome: .success("6"), durationNanos: 1500), now: 1002)
        let failure = KernelError(.toolFailed, "calculator.add failed: no")
        try store.append(run: 7, step: .tool(call: calls[1], outcome: .failure(failure), durationNanos: 0), now: 1003)
        #expect(try store.unfinished().map(\.info.id) == [7])

        try store.update(run: 7, state: .completed, answer: "It is 6.", error: nil, retention: RunRetention(), now: 1004)
        let record = try #require(try store.run(id: 7))
        #expect(record.info == RunInfo(
            id: 7, agent: "support", reply: .mailbox, session: nil, state: .completed, steps: 3, error: nil, createdAt: 1000, updatedAt: 1004))
        #expect(record.request == Self.request)
        #expect(record.steps == [
            .model(text: "", calls: calls, usage: usage), .tool(call: calls[0], outcome: .success("6"), durationNanos: 1500),
            .tool(call: calls[1], outcome: .failure(failure), durationNanos: 0),
        ])
        #expect(record.answer == "It is 6.")
        #expect(try store.unfinished().isEmpty)
        #expect(try store.run(id: 8) == nil)
    }

    @Test func stepsStoredBeforeTheUsageMigrationReadAsZeroTokens() throws {
        let path = NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite"
        do {
            // A file as the kernel left it before "v5: run step usage", with one run of one model step.
            let queue = try DatabaseQueue(path: path)
            try StateDatabase.migrator.migrate(queue, upTo: "v4: runs")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO runs (id, agent, reply, state, request, created_at, updated_at) VALUES (3, 'a', 'control', 'running', ?, 1, 1);
                    INSERT INTO run_steps (run, seq, kind, text, calls, at) VALUES (3, 1, 'model', '', '[]', 1);
                    """, arguments: [String(decoding: try JSONEncoder().encode(Self.request), as: UTF8.self)])
            }
        }
        let store = SQLiteRunStore(database: try StateDatabase(path: path))
        #expect(try store.run(id: 3)?.steps == [.model(text: "", calls: [], usage: RunStepUsage())])
        let usage = RunStepUsage(promptTokens: 5, cachedPromptTokens: 0, completionTokens: 2)
        try store.append(run: 3, step: .model(text: "again", calls: [], usage: usage), now: 2)
        #expect(try store.run(id: 3)?.steps.last == .model(text: "again", calls: [], usage: usage))
    }

    @Test func retentionKeepsTheNewestFinishedRunsAndEveryRunningOne() throws {
        let store = SQLiteRunStore(database: try Self.database())
        for id in UInt64(1)...5 {
            try store.begin(id: id, agent: id == 1 ? "a" : "b", reply: .control, request: Self.request, now: Int64(id))
            try store.append(run: id, step: .model(text: "", calls: [Self.call("calculator.multiply", "{}")]), now: Int64(id))
        }
        for id in UInt64(2)...5 {
            try store.update(run: id, state: .failed, answer: nil, error: KernelError(.toolLoop, "x"), retention: RunRetention(maxFinishedRuns: 2), now: 10 + Int64(id))
        }
        #expect(try store.runs(agent: nil).map(\.id) == [5, 4, 1])
        #expect(try store.runs(agent: "a").map(\.state) == [.running])
        #expect(try store.run(id: 5)?.info.error == KernelError(.toolLoop, "x"))
    }

    // MARK: A kernel's runs

    /// A kernel with `script` as its model, keeping runs in `database`, with the calculator loaded.
    private static func kernel(_ database: StateDatabase, _ script: @escaping SimulatedEngine.Script) async throws -> Kernel {
        let kernel = try TestKernel.withPluginFiles(
            engine: SimulatedEngine(driver: .thread, script: script), runs: RunService(store: SQLiteRunStore(database: database)))
        _ = try await kernel.lifecycle.load(path: pluginPath("calculator"))
        return kernel
    }

    private static func toolResults(_ parameters: InferenceParameters) -> [String] {
        parameters.messages.filter { $0.role == "tool" }.map(\.content)
    }

    private static func calls(_ kernel: Kernel, _ tool: String) -> UInt64 {
        kernel.tools.toolDescriptions(matching: [tool]).first?.calls ?? 0
    }

    /// Waits until run `id` ends; returns its record.
    private static func ended(_ kernel: Kernel, _ id: UInt64) async throws -> RunRecord {
        #expect(await waitUntil(within: 20) { (try? kernel.runs.show(id: id))?.info.state.isFinal == true })
        return try kernel.runs.show(id: id)
    }

    @Test func aToolLoopIsCheckpointedStepByStep() async throws {
        let database = try Self.database()
        let kernel = try await Self.kernel(database) { parameters in
            let results = Self.toolResults(parameters)
            return results.isEmpty ? ("", [Self.call("calculator.multiply", #"{"a": 2, "b": 3}"#)]) : ("It is \(results[0]).", [])
        }
        let sink = Recorder()
        let handle = try kernel.inference.submit(
            agent: "agentctl", priority: 0,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "What is 2 times 3?")], maxTokens: 32),
            tools: ToolUse(patterns: ["calculator.*"]), sink: sink)
        #expect(try #require(await sink.outcome(within: 20)).get().text == "It is 6.")
        let record = try await Self.ended(kernel, handle.id)
        #expect(record.info.state == .completed && record.info.reply == .control && record.answer == "It is 6.")
        #expect(record.request.tools.map(\.name) == ["calculator.add", "calculator.multiply", "calculator.divide", "calculator.sqrt"])
        let call = Self.call("calculator.multiply", #"{"a": 2, "b": 3}"#)
        guard record.steps.count == 2, case .tool(let stored, let outcome, _) = record.steps[1] else {
            Issue.record("\(record.steps)")
            return
        }
        #expect(stored == call && outcome == .success("6"))
        // The turn's tokens are checkpointed with it (the simulated model: one prompt token per word).
        guard case .model(let text, let calls, let usage) = record.steps[0] else {
            Issue.record("\(record.steps)")
            return
        }
        #expect(text == "" && calls == [call])
        #expect(usage.promptTokens > 0 && usage.completionTokens > 0, "\(usage)")
        #expect(try kernel.runs.list().map(\.id) == [handle.id])
    }

    @Test func aResumedRunNeverRunsACallWhoseOutcomeWasNotStoredAndRunsTheCallsAfterIt() async throws {
        let database = try Self.database()
        let store = SQLiteRunStore(database: database)
        let calls = [
            Self.call("calculator.multiply", #"{"a": 2, "b": 3}"#, id: "call_0"),
            Self.call("calculator.add", #"{"a": 1, "b": 1}"#, id: "call_1"),
            Self.call("calculator.sqrt", #"{"x": 16}"#, id: "call_2"),
        ]
        var request = Self.request
        request.tools = calls.map { ToolDefinition(name: $0.name, description: "", parameters: "{}") }
        // The stop came while add ran: multiply's outcome is stored, add's is not.
        try store.begin(id: 900, agent: "agentctl", reply: .control, request: request, now: 1)
        try store.append(run: 900, step: .model(text: "", calls: calls), now: 2)
        try store.append(run: 900, step: .tool(call: calls[0], outcome: .success("6"), durationNanos: 10), now: 3)

        let kernel = try await Self.kernel(database) { parameters in
            ("results: " + Self.toolResults(parameters).joined(separator: " | "), [])
        }
        #expect(kernel.inference.resumeRuns() == [900])
        let record = try await Self.ended(kernel, 900)
        #expect(record.info.state == .completed)
        #expect(Self.calls(kernel, "calculator.multiply") == 0 && Self.calls(kernel, "calculator.add") == 0)
        #expect(Self.calls(kernel, "calculator.sqrt") == 1)
        let unknown = KernelError(.toolFailed, "the kernel stopped while calculator.add ran; its outcome is unknown and it was not run again")
        #expect(record.steps.count == 4)
        #expect(record.steps.dropFirst(2).first == .tool(call: calls[1], outcome: .failure(unknown), durationNanos: 0))
        #expect(record.answer == #"results: 6 | {"error":"\#(unknown.message)"} | 4"#)
    }

    @Test func aRunWhoseAgentIsGoneEndsAgentGoneAndOneInASessionInterrupted() async throws {
        let database = try Self.database()
        let store = SQLiteRunStore(database: database)
        try store.begin(id: 901, agent: "ghost", reply: .mailbox, request: Self.request, now: 1)
        var inSession = Self.request
        inSession.session = "chat-1"
        try store.begin(id: 902, agent: "agentctl", reply: .control, request: inSession, now: 2)
        let kernel = try await Self.kernel(database) { _ in ("never", []) }
        #expect(kernel.inference.resumeRuns().isEmpty)
        let gone = try kernel.runs.show(id: 901).info
        #expect(gone.state == .agentGone && gone.error == KernelError(.notFound, "ghost was not running when the kernel started again"))
        let interrupted = try kernel.runs.show(id: 902).info
        #expect(interrupted.state == .interrupted && interrupted.error?.code == .stopping && interrupted.session == "chat-1")
        #expect(throws: KernelError(.notFound, "no run 903 (see `agentctl runs ls`; finished runs past the newest 1000 are deleted)")) {
            try kernel.runs.show(id: 903)
        }
    }

    // MARK: Approval (AOS_TOOL_NEEDS_APPROVAL: the approval fixture's bank.transfer)

    /// A kernel whose model calls `tool` first, then answers with the first result; the approval fixture loaded as `name`.
    private static func approvalKernel(_ database: StateDatabase, tool: String, name: String = "bank") async throws -> Kernel {
        let engine = SimulatedEngine(driver: .thread) { parameters in
            let results = Self.toolResults(parameters)
            return results.isEmpty ? ("", [Self.call(tool, #"{"amount": 50}"#)]) : ("done: \(results[0])", [])
        }
        let kernel = try TestKernel.withPluginFiles(engine: engine, runs: RunService(store: SQLiteRunStore(database: database)))
        _ = try await kernel.lifecycle.load(path: pluginPath("approval"), name: name)
        return kernel
    }

    private static func submit(_ kernel: Kernel, tools: String, sink: Recorder) throws -> UInt64 {
        try kernel.inference.submit(
            agent: "agentctl", priority: 0,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "Send the customer $50.")], maxTokens: 32),
            tools: ToolUse(patterns: [tools]), sink: sink
        ).id
    }

    private static func state(_ kernel: Kernel, _ id: UInt64) -> RunState? { (try? kernel.runs.show(id: id))?.info.state }

    @Test func aCallThatNeedsApprovalWaitsThenRunsWhenApprovedOrReadsTheRejection() async throws {
        let kernel = try await Self.approvalKernel(try Self.database(), tool: "bank.transfer")
        for approve in [false, true] {
            let sink = Recorder()
            let id = try Self.submit(kernel, tools: "bank.*", sink: sink)
            #expect(await waitUntil(within: 20) { Self.state(kernel, id) == .awaitingApproval })
            #expect(try kernel.runs.show(id: id).unansweredCall == Self.call("bank.transfer", #"{"amount": 50}"#))
            #expect(Self.calls(kernel, "bank.transfer") == 0)
            #expect(kernel.inference.decideRun(id: id, approve: approve, comment: "over the limit"))
            #expect(!kernel.inference.decideRun(id: id, approve: approve, comment: nil), "one decision per call")
            let answer = try #require(await sink.outcome(within: 20)).get().text
            if approve {
                #expect(answer.hasPrefix("done: {") && answer.contains("transferred"), "\(answer)")
                #expect(Self.calls(kernel, "bank.transfer") == 1)
            } else {
                #expect(answer == #"done: {"error":"the operator rejected this call of bank.transfer: over the limit"}"#)
                #expect(Self.calls(kernel, "bank.transfer") == 0)
            }
            #expect(try await Self.ended(kernel, id).info.state == .completed)
        }
        #expect(!kernel.inference.decideRun(id: 424242, approve: true, comment: nil))
    }

    @Test func aRunWaitingForApprovalEndsCancelledOrAgentGoneWhenItsAgentIsUnloaded() async throws {
        // Loaded as "calculator", so the toolcaller fixture's `ask` (tools calculator.*) offers it.
        let kernel = try await Self.approvalKernel(try Self.database(), tool: "calculator.transfer", name: "calculator")
        let sink = Recorder()
        let cancelled = try Self.submit(kernel, tools: "calculator.*", sink: sink)
        #expect(await waitUntil(within: 20) { Self.state(kernel, cancelled) == .awaitingApproval })
        #expect(kernel.inference.cancelRun(id: cancelled))
        #expect(try #require(await sink.outcome(within: 20)).get().finishReason == .cancelled)
        #expect(try await Self.ended(kernel, cancelled).info.state == .cancelled)

        _ = try await kernel.lifecycle.load(path: pluginPath("toolcaller"), grants: [.infer, .tool("*")])
        let asking = Task { try? await kernel.messages.deliver(to: "toolcaller", body: Array("ask Send $50.".utf8), wait: true, timeoutMs: 60_000) }
        #expect(await waitUntil(within: 20) {
            (try? kernel.runs.list(agent: "toolcaller"))?.first?.state == .awaitingApproval
        })
        let waiting = try #require(try kernel.runs.list(agent: "toolcaller").first)
        #expect(waiting.reply == .caller)
        _ = try await kernel.lifecycle.unload(name: "toolcaller", timeout: 10)
        _ = await asking.value
        let gone = try await Self.ended(kernel, waiting.id).info
        #expect(gone.state == .agentGone && gone.error == KernelError(.stopping, "toolcaller was unloaded during the run"))
        #expect(Self.calls(kernel, "calculator.transfer") == 0)
    }
}
