import AgentOSTesting
import Testing
@testable import KernelCore

/// The scheduler's policies and accounting, on the simulated engine's virtual time.
@Suite struct InferenceSchedulerTests {
    private func engine(_ policy: SchedulingPolicy, slots: Int = 1, capacity: Int = 4096) -> (SimulatedEngine, InferenceScheduler) {
        let engine = SimulatedEngine(slots: slots)
        let scheduler = InferenceScheduler(policy: policy, capacity: capacity)
        engine.start(serving: scheduler)
        return (engine, scheduler)
    }

    private func finishOrder(_ policy: SchedulingPolicy, submit: (SimulatedEngine, FinishJournal) throws -> Void) throws -> [UInt64] {
        let (engine, _) = engine(policy)
        let journal = FinishJournal()
        try submit(engine, journal)
        engine.runUntilIdle()
        return journal.all.map(\.requestID)
    }

    @Test func fifoServesInArrivalOrderWhoeverSent() throws {
        let order = try finishOrder(.fifo) { engine, journal in
            for id in 1...5 { try engine.submit(id: UInt64(id), agent: "flood", sink: Recorder(journal: journal)) }
            try engine.submit(id: 6, agent: "quiet", sink: Recorder(journal: journal))
        }
        #expect(order == [1, 2, 3, 4, 5, 6])
    }

    @Test func fairShareServesTheLessServedAgentNext() throws {
        let order = try finishOrder(.fair) { engine, journal in
            for id in 1...5 { try engine.submit(id: UInt64(id), agent: "flood", sink: Recorder(journal: journal)) }
            try engine.submit(id: 6, agent: "quiet", sink: Recorder(journal: journal))
        }
        #expect(order == [1, 6, 2, 3, 4, 5])
    }

    @Test func fairShareAlternatesBetweenEqualAgents() throws {
        let order = try finishOrder(.fair) { engine, journal in
            for id in 1...3 { try engine.submit(id: UInt64(id), agent: "a", sink: Recorder(journal: journal)) }
            for id in 4...6 { try engine.submit(id: UInt64(id), agent: "b", sink: Recorder(journal: journal)) }
        }
        #expect(order == [1, 4, 2, 5, 3, 6])
    }

    @Test func priorityRunsHighestFirstAndFIFOAmongEquals() throws {
        let order = try finishOrder(.priority) { engine, journal in
            for id in 1...3 { try engine.submit(id: UInt64(id), agent: "low", sink: Recorder(journal: journal)) }
            try engine.submit(id: 4, agent: "high", priority: 5, sink: Recorder(journal: journal))
            try engine.submit(id: 5, agent: "high", priority: 5, sink: Recorder(journal: journal))
        }
        #expect(order == [4, 5, 1, 2, 3])
    }

    /// Two agents flood long requests; a third sends short ones now and then.
    /// Returns the quiet agent's mean queue time in virtual ns.
    private func quietAgentQueueTime(_ policy: SchedulingPolicy) throws -> Double {
        let (engine, scheduler) = engine(policy, slots: 2)
        var id: UInt64 = 0
        func next() -> UInt64 { id += 1; return id }
        for _ in 0..<20 {
            try engine.submit(id: next(), agent: "flood-a", words: 64, maxTokens: 64)
            try engine.submit(id: next(), agent: "flood-b", words: 64, maxTokens: 64)
        }
        var quiet: [Recorder] = []
        for _ in 0..<5 {
            for _ in 0..<50 { engine.step() }
            let recorder = Recorder()
            try engine.submit(id: next(), agent: "quiet", maxTokens: 4, sink: recorder)
            quiet.append(recorder)
        }
        engine.runUntilIdle()
        #expect(scheduler.account(of: "quiet")?.completed == 5)
        let waits = quiet.map { recorder in Double((try? recorder.outcome?.get())?.usage.queueNanos ?? .max) }
        return waits.reduce(0, +) / Double(waits.count)
    }

    @Test func aFloodDoesNotStarveAQuietAgentUnderFairShare() throws {
        let fair = try quietAgentQueueTime(.fair)
        let fifo = try quietAgentQueueTime(.fifo)
        // Under FIFO the quiet agent waits behind the whole flood; under fair
        // share, at most for one running request to end.
        #expect(fair <= 0.1 * fifo)
        #expect(fair <= 64 * 10_000_000)
    }

    /// What preemption reads: the agent the fair policy serves next and the
    /// weighted tokens each agent was served (a generated token counts 2).
    @Test func fairShareNamesTheNextAgentAndTheCountersAskedFor() throws {
        let (engine, scheduler) = engine(.fair)
        try engine.submit(id: 1, agent: "flood", words: 10, maxTokens: 20)
        for _ in 0..<30 { engine.step() }
        // Queued before the flood's next request, the quiet agent keeps its counter at 0.
        try engine.submit(id: 2, agent: "quiet")
        try engine.submit(id: 3, agent: "flood")
        let standing = scheduler.fairShare(of: ["flood", "nobody"])
        #expect(standing.next?.agent == "quiet" && standing.next?.counter == 0)
        #expect(standing.counters[0] > 20 && standing.counters[1] == 0)
        #expect(InferenceScheduler(policy: .fifo).fairShare(of: []).next == nil)
    }

    @Test func cancellingAQueuedRequestEndsItAtOnce() throws {
        let (engine, scheduler) = engine(.fifo)
        let running = Recorder(), queued = Recorder(), after = Recorder()
        try engine.submit(id: 1, agent: "a", maxTokens: 100, sink: running)
        engine.step()
        try engine.submit(id: 2, agent: "a", sink: queued)
        #expect(scheduler.cancel(id: 2, owner: nil))
        #expect((try? queued.outcome?.get())?.finishReason == .cancelled)
        #expect(scheduler.queueLength == 0)

        try engine.submit(id: 3, agent: "a", sink: after)
        #expect(scheduler.cancel(id: 1, owner: nil))
        engine.step()
        let cancelled = try #require(try running.outcome?.get())
        #expect(cancelled.finishReason == .cancelled)
        #expect(cancelled.text == "t0 ")
        #expect(engine.sequences.map(\.request.id) == [3])
        #expect(!scheduler.cancel(id: 1, owner: nil))
    }

    /// A client that goes away cancels through its handle (`InferenceRequest.cancel`),
    /// not through the scheduler: a queued request must still end at once.
    @Test func cancellingAQueuedRequestsHandleEndsItAtOnceWithoutTheEngine() throws {
        let (engine, scheduler) = engine(.fifo)
        let running = Recorder(), queued = Recorder()
        try engine.submit(id: 1, agent: "a", maxTokens: 3, sink: running)
        engine.step()
        let waiting = try engine.submit(id: 2, agent: "a", sink: queued)
        waiting.cancel()
        let cancelled = try #require(try queued.outcome?.get(), "still queued while the engine is busy")
        #expect(cancelled.finishReason == .cancelled && cancelled.text.isEmpty)
        #expect(scheduler.queueLength == 0)
        let account = try #require(scheduler.account(of: "a"))
        #expect(account.cancelled == 1 && account.inFlight == 1)

        engine.runUntilIdle()
        #expect(engine.taken == [1])
        #expect((try? running.outcome?.get())?.finishReason == .length)
        #expect(scheduler.account(of: "a")?.completed == 1 && scheduler.account(of: "a")?.cancelled == 1)
    }

    @Test func cancelAllEndsAnOwnersQueuedRequestsAtOnceAndNoOneElses() throws {
        let scheduler = InferenceScheduler(policy: .fifo)
        func request(_ id: UInt64, owner: UInt64, _ sink: Recorder) -> InferenceRequest {
            InferenceRequest(
                id: id, agent: "a", owner: owner, priority: 0,
                parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 1),
                submittedAt: 0, sink: sink)
        }
        let gone = [Recorder(), Recorder()], staying = Recorder()
        try scheduler.submit(request(1, owner: 42, gone[0]))
        try scheduler.submit(request(2, owner: 7, staying))
        try scheduler.submit(request(3, owner: 42, gone[1]))
        scheduler.cancelAll(owner: 42)
        #expect(gone.allSatisfy { (try? $0.outcome?.get())?.finishReason == .cancelled })
        #expect(staying.outcome == nil && scheduler.queueLength == 1)
        #expect(scheduler.take()?.id == 2)
    }

    @Test func cancelChecksTheOwner() throws {
        let scheduler = InferenceScheduler(policy: .fifo)
        let request = InferenceRequest(
            id: 7, agent: "a", owner: 42, priority: 0,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 1),
            submittedAt: 0, sink: Recorder())
        try scheduler.submit(request)
        #expect(!scheduler.cancel(id: 7, owner: 41))
        #expect(scheduler.cancel(id: 7, owner: 42))
    }

    @Test func aFullQueueRefusesWithFull() throws {
        let (engine, _) = engine(.fair, capacity: 2)
        try engine.submit(id: 1, agent: "a")
        try engine.submit(id: 2, agent: "b")
        #expect(throws: KernelError.self) { try engine.submit(id: 3, agent: "a") }
        do { try engine.submit(id: 3, agent: "a") } catch { #expect(error.code == .full) }
    }

    @Test func closingFailsQueuedRequestsAndRefusesNewOnes() throws {
        let (engine, scheduler) = engine(.fifo)
        let queued = Recorder()
        try engine.submit(id: 1, agent: "a", sink: queued)
        scheduler.close(reason: KernelError(.stopping, "shutting down"))
        guard case .failure(let error)? = queued.outcome else { Issue.record("not failed"); return }
        #expect(error.code == .stopping)
        do { try engine.submit(id: 2, agent: "a") } catch { #expect(error.code == .stopping) }
        #expect(scheduler.account(of: "a")?.failed == 1)
    }

    @Test func accountsCountRequestsTokensAndTimes() throws {
        let (engine, scheduler) = engine(.fair, slots: 2)
        for id in 1...3 { try engine.submit(id: UInt64(id), agent: "a", words: 5, maxTokens: 3) }
        try engine.submit(id: 4, agent: "b", words: 2, maxTokens: 1)
        engine.runUntilIdle()
        let a = try #require(scheduler.account(of: "a"))
        #expect(a.requests == 3 && a.completed == 3 && a.inFlight == 0 && a.failed == 0)
        #expect(a.promptTokens == 15 && a.completionTokens == 9)
        #expect(a.timeToFirstTokenNanos > 0 && a.queueNanos > 0)
        let b = try #require(scheduler.account(of: "b"))
        #expect(b.promptTokens == 2 && b.completionTokens == 1)
    }
}

@Suite struct BatchPlannerTests {
    @Test func everyGeneratingSequenceDecodesBeforeAnyPrefill() {
        let planner = BatchPlanner(tokenBudget: 8, prefillChunk: 4)
        let step = planner.plan([.init(slot: 0, pendingPrompt: 100), .init(slot: 1, pendingPrompt: 0), .init(slot: 2, pendingPrompt: 0)])
        #expect(step.decode == [1, 2])
        #expect(step.prefill.map(\.slot) == [0] && step.prefill.map(\.tokens) == [4])
    }

    @Test func prefillFillsTheBudgetOldestFirstInChunks() {
        let planner = BatchPlanner(tokenBudget: 11, prefillChunk: 4)
        let step = planner.plan([
            .init(slot: 3, pendingPrompt: 9), .init(slot: 0, pendingPrompt: 0), .init(slot: 1, pendingPrompt: 2),
            .init(slot: 2, pendingPrompt: 9), .init(slot: 4, pendingPrompt: 9),
        ])
        #expect(step.decode == [0])
        #expect(step.prefill.map(\.slot) == [3, 1, 2])
        #expect(step.prefill.map(\.tokens) == [4, 2, 4])
        #expect(step.tokenCount == 11)
    }

    @Test func withNobodyDecodingAPromptMayTakeTheWholeBudget() {
        let planner = BatchPlanner(tokenBudget: 10, prefillChunk: 4)
        let step = planner.plan([.init(slot: 0, pendingPrompt: 30)])
        #expect(step.prefill.map(\.tokens) == [10])
    }

    @Test func aLongPromptNeverStallsDecoding() {
        // Continuous batching on the simulated engine: while a 200-token prompt
        // prefills in chunks, the generating sequence gets a token every step.
        let engine = SimulatedEngine(slots: 2, tokenBudget: 64, prefillChunk: 32)
        let scheduler = InferenceScheduler(policy: .fifo)
        engine.start(serving: scheduler)
        let short = Recorder()
        try? engine.submit(id: 1, agent: "a", words: 4, maxTokens: 20, sink: short)
        engine.step()
        try? engine.submit(id: 2, agent: "b", words: 200, maxTokens: 4)
        for _ in 0..<7 { engine.step() }
        let prefillSteps = engine.plans.dropFirst().filter { !$0.prefill.isEmpty }
        #expect(prefillSteps.count == 7)
        for plan in prefillSteps {
            #expect(plan.decode == [0])
            #expect(plan.prefill.allSatisfy { $0.tokens <= 32 })
            #expect(plan.tokenCount <= 64)
        }
        #expect(short.pieces.count == 8)
    }
}
