import ControlAPI
import Foundation
import Testing

/// Durable runs on a real `agentosd` with the real model and real tool
/// plugins: `agentctl runs ls|show|cancel`, bad ids, and a kernel killed
/// with SIGKILL while a tool call runs.
@Suite(.serialized) struct RunCommandsTests {
    private func json<T: Decodable>(_ type: T.Type, _ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        #expect(result.status == 0, "\(result.stderr)", sourceLocation: sourceLocation)
        return try ControlJSON.decoder().decode(type, from: Data(result.stdout.utf8))
    }

    @Test func agentctlRunsListsAndShowsAToolLoopAndRefusesUnknownIds() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        try await kernel.load("calculator")
        let answer = try json(InferResult.self, kernel.agentctl(
            "infer", "--tools", "calculator.*", "--require-tool", "-o", "json", "What is 12.5 times 4?"))

        let list = try json(RunList.self, kernel.agentctl("runs", "ls", "-o", "json"))
        #expect(list.runs.map { "\($0.id) \($0.agent) \($0.reply) \($0.state)" } == ["\(answer.requestId) agentctl control completed"])
        let detail = try json(RunDetail.self, kernel.agentctl("runs", "show", "\(answer.requestId)", "-o", "json"))
        #expect(detail.answer == answer.text)
        #expect(detail.tools.contains("calculator.multiply") && detail.messages.last?.content == "What is 12.5 times 4?")
        // Each model turn that called tools, then each call's outcome, as the answer's steps say.
        #expect(detail.steps.first?.kind == "model" && detail.steps.first?.calls?.first?.name == "calculator.multiply", "\(detail.steps)")
        let toolSteps = detail.steps.filter { $0.kind == "tool" }
        #expect(toolSteps.map { $0.call?.name } == answer.steps?.map(\.tool), "\(detail.steps)")
        #expect(toolSteps.first?.result == answer.steps?.first?.result)
        let table = try kernel.agentctl("runs", "ls")
        #expect(table.stdout.hasPrefix("RUN") && table.stdout.contains("completed"), "\(table.stdout)")
        let text = try kernel.agentctl("runs", "show", "\(answer.requestId)")
        #expect(text.stdout.hasPrefix("run \(answer.requestId) of agentctl: completed,") && text.stdout.contains("1 model: calls calculator.multiply("), "\(text.stdout)")

        let unknown = try kernel.agentctl("runs", "show", "999999")
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("agentctl: no run 999999 (see `agentctl runs ls`"), "\(unknown.stderr)")
        let notANumber = try kernel.agentctl("runs", "cancel", "abc")
        #expect(notANumber.status == 1 && notANumber.stderr.contains("no run abc: run ids are numbers"), "\(notANumber.stderr)")
        let ended = try kernel.agentctl("runs", "cancel", "\(answer.requestId)")
        #expect(ended.status == 1 && ended.stderr == "agentctl: run \(answer.requestId) has already ended (completed)\n", "\(ended.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func aRunKilledDuringAToolCallResumesWithoutCallingTheToolAgain() async throws {
        let first = try await KernelProcess(InferenceTests.engine)
        try await first.load("tooltypes")
        // `hang` blocks until `unhang`: the kernel dies while the call runs.
        let asking = try first.startAgentctl(["infer", "--tools", "tooltypes.hang", "--require-tool", "Call the hang tool."])
        var run: RunSummaryInfo?
        #expect(try await first.eventually(120) {
            run = try await first.client.runs().first
            return run?.steps == 1
        })
        let id = try #require(run?.id)
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        _ = await asking.finish()

        let second = try await KernelProcess(InferenceTests.engine, root: first.root)
        defer { second.stop() }
        var detail: RunDetail?
        #expect(try await second.eventually(120) {
            detail = try await second.client.run(id: "\(id)")
            return detail?.run.state != "running"
        })
        let resumed = try #require(detail)
        #expect(resumed.run.state == "completed", "\(resumed)")
        // The call that was running is not run again: the model read that its outcome is unknown
        // (a repeat of it would be refused as a repeat, and would hang if it ran).
        let toolSteps = resumed.steps.filter { $0.kind == "tool" }
        #expect(toolSteps.first?.error?.message == "the kernel stopped while tooltypes.hang ran; its outcome is unknown and it was not run again", "\(resumed.steps)")
        #expect(toolSteps.allSatisfy { $0.result == nil }, "\(resumed.steps)")
        #expect(second.log().contains("run \(id) of agentctl resumed after 1 stored steps"), "\(second.log())")
        try await second.expectHealthy()
    }

    /// Waits until the newest run of this kernel is awaiting approval; returns it.
    private func awaitingRun(_ kernel: KernelProcess) async throws -> RunSummaryInfo {
        var run: RunSummaryInfo?
        #expect(try await kernel.eventually(120) {
            run = try await kernel.client.runs().first
            return run?.state == "awaiting_approval"
        }, "\(String(describing: run))")
        return try #require(run)
    }

    private func transfers(_ kernel: KernelProcess) async throws -> UInt64? {
        try await kernel.client.tools(matching: "bank.transfer").first?.calls
    }

    @Test func aToolThatNeedsApprovalWaitsForRejectOrApproveAlsoAcrossAKill() async throws {
        let first = try await KernelProcess(InferenceTests.engine)
        try await first.load("approval")  // its tool is bank.transfer (AOS_TOOL_NEEDS_APPROVAL)
        let ask = ["infer", "--tools", "bank.*", "--require-tool", "--max-steps", "2", "-o", "json", "Send the customer 50 dollars."]

        // Rejected: the model reads the rejection and the comment as the call's result; the tool never runs.
        let rejecting = try first.startAgentctl(ask)
        let rejected = try await awaitingRun(first)
        let shown = try json(RunDetail.self, first.agentctl("runs", "show", "\(rejected.id)", "-o", "json"))
        #expect(shown.awaiting?.name == "bank.transfer", "\(shown)")
        #expect(try first.agentctl("runs", "show", "\(rejected.id)").stdout.contains("awaiting approval: bank.transfer("))
        #expect(try await transfers(first) == 0)
        let reject = try first.agentctl("runs", "reject", "\(rejected.id)", "--comment", "over the limit")
        #expect(reject.status == 0 && reject.stdout == "rejected the call run \(rejected.id) of agentctl waited for\n", "\(reject.stderr)")
        // The model answers, or calls again and meets --max-steps 2.
        let done = await rejecting.finish(timeout: 120)
        #expect(done.status == 0 || done.stderr.contains("(max_steps)"), "\(done.stderr)")
        let detail = try json(RunDetail.self, first.agentctl("runs", "show", "\(rejected.id)", "-o", "json"))
        #expect(detail.run.state == "completed" || detail.run.error?.code == "tool_step_limit", "\(detail)")
        #expect(detail.steps.first { $0.kind == "tool" }?.error?.message == "the operator rejected this call of bank.transfer: over the limit")
        #expect(try await transfers(first) == 0)
        // Decisions on a run that waits for none, or on no run.
        let again = try first.agentctl("runs", "approve", "\(rejected.id)")
        #expect(again.status == 1 && again.stderr.hasPrefix("agentctl: run \(rejected.id) is not awaiting approval (it is "), "\(again.stderr)")
        let unknown = try first.agentctl("runs", "approve", "999999")
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("agentctl: no run 999999"), "\(unknown.stderr)")

        // Waiting when the kernel is killed: it waits again after the restart, and approved, the call runs once.
        let killed = try first.startAgentctl(ask)
        let waiting = try await awaitingRun(first)
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        _ = await killed.finish()
        let second = try await KernelProcess(InferenceTests.engine, root: first.root)
        defer { second.stop() }
        #expect(try await second.client.run(id: "\(waiting.id)").run.state == "awaiting_approval")
        let approve = try second.agentctl("runs", "approve", "\(waiting.id)", "--comment", "checked")
        #expect(approve.status == 0, "\(approve.stderr)")
        var finished: RunDetail?
        #expect(try await second.eventually(120) {
            finished = try await second.client.run(id: "\(waiting.id)")
            return finished?.run.state != "running"
        })
        #expect(finished?.steps.first { $0.kind == "tool" }?.result?.contains("transferred") == true, "\(String(describing: finished))")
        #expect(try await transfers(second) == 1)
        try await second.expectHealthy()
    }

    @Test func aGracefulStopLeavesAWaitingRunWaitingForTheNextStart() async throws {
        let first = try await KernelProcess(InferenceTests.engine)
        try await first.load("approval")
        let asking = try first.startAgentctl(["infer", "--tools", "bank.*", "--require-tool", "Send the customer 50 dollars."])
        let waiting = try await awaitingRun(first)
        // SIGTERM cancels the request on its way down; the run is not recorded cancelled.
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
        _ = await asking.finish()
        let second = try await KernelProcess(InferenceTests.engine, root: first.root)
        defer { second.stop() }
        #expect(try await second.client.run(id: "\(waiting.id)").run.state == "awaiting_approval")
        // /metrics: the run waiting, then counted among the ended runs by its final state.
        let waitingMetrics = try await ObservabilityTests.scrape(second)
        #expect(waitingMetrics[#"agentos_runs_open{state="awaiting_approval"}"#] == 1, "\(waitingMetrics.filter { $0.key.hasPrefix("agentos_runs") })")
        let cancel = try second.agentctl("runs", "cancel", "\(waiting.id)")
        #expect(cancel.status == 0 && cancel.stdout == "cancelled run \(waiting.id) of agentctl\n", "\(cancel.stderr)")
        #expect(try await second.client.run(id: "\(waiting.id)").run.state == "cancelled")
        let endedMetrics = try await ObservabilityTests.scrape(second)
        #expect(endedMetrics[#"agentos_runs_open{state="awaiting_approval"}"#] == 0)
        #expect(endedMetrics[#"agentos_runs_total{state="cancelled"}"#] == 1, "\(endedMetrics.filter { $0.key.hasPrefix("agentos_runs") })")
        #expect(try await transfers(second) == 0)
        try await second.expectHealthy()
    }
}

