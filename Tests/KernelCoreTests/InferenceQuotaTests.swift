import AgentOSTesting
import Synchronization
import Testing
@testable import KernelCore

/// Per-agent inference quotas in the scheduler: the token rate throttles, the
/// budget and concurrency limits refuse, and no quota holds up another agent.
/// Most tests run on a manual clock; the ones about `take` sleeping use real
/// time with waits of milliseconds.
@Suite struct InferenceQuotaTests {
    /// A clock that moves only when told to.
    final class ManualClock: Sendable {
        private let time = Mutex<UInt64>(1_000_000_000)
        var now: UInt64 { time.withLock { $0 } }
        func advance(by nanos: UInt64) { time.withLock { $0 += nanos } }
    }

    /// Counts calls, from any thread.
    final class Counter: Sendable {
        private let value = Mutex(0)
        var count: Int { value.withLock { $0 } }
        func increment() { value.withLock { $0 += 1 } }
        func reset() { value.withLock { $0 = 0 } }
    }

    /// Every quota refusal the scheduler reported, with when it came.
    final class RefusalLog: Sendable {
        private let entries = Mutex<[(agent: String, quota: String, message: String, at: UInt64)]>([])
        func append(_ agent: String, _ quota: String, _ message: String) {
            entries.withLock { $0.append((agent, quota, message, monotonicNanos())) }
        }
        var all: [(agent: String, quota: String, message: String, at: UInt64)] { entries.withLock { $0 } }
    }

    private static let second: UInt64 = 1_000_000_000

    private func scheduler(
        _ policy: SchedulingPolicy = .fair, clock: @escaping @Sendable () -> UInt64
    ) -> (InferenceScheduler, RefusalLog) {
        let scheduler = InferenceScheduler(policy: policy, clock: clock)
        let log = RefusalLog()
        scheduler.onQuotaRefusal = { agent, quota, message in log.append(agent, quota, message) }
        return (scheduler, log)
    }

    private func request(_ id: UInt64, _ agent: String, priority: Int = 0, sink: Recorder = Recorder()) -> InferenceRequest {
        InferenceRequest(
            id: id, agent: agent, owner: 0, priority: priority,
            parameters: InferenceParameters(messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 8),
            submittedAt: 0, sink: sink)
    }

    /// Submits a request for `agent`, takes it and charges `tokens`: the agent's bucket drops by as much.
    private func run(_ id: UInt64, _ agent: String, costing tokens: Int, on scheduler: InferenceScheduler) throws -> InferenceRequest {
        try scheduler.submit(request(id, agent))
        let taken = try #require(scheduler.take())
        #expect(taken.id == id)
        scheduler.charge(taken, promptTokens: tokens / 2, completionTokens: tokens - tokens / 2)
        return taken
    }

    private func failure(of recorder: Recorder) -> KernelError? {
        if case .failure(let error)? = recorder.outcome { return error }
        return nil
    }

    // MARK: tokens_per_minute

    /// An agent limited to 6000 tokens a minute keeps four requests queued for
    /// ten virtual minutes on the simulated engine, beside an unlimited agent
    /// doing the same.
    @Test func aRateLimitedAgentIsServedAtItsRateWithinFivePercent() throws {
        let engine = SimulatedEngine(slots: 4)
        let scheduler = InferenceScheduler(policy: .fair, clock: { [engine] in engine.now })
        engine.start(serving: scheduler)
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 6000), for: "metered")

        // Each request is 4 prompt words and 16 generated tokens: 20 tokens in 16 steps of 10 ms.
        let (words, maxTokens) = (4, 16)
        let window = 600 * Self.second
        let start = engine.now
        var id: UInt64 = 0
        func queued(_ agent: String) -> Int {
            (scheduler.account(of: agent)?.inFlight ?? 0) - engine.sequences.filter { $0.request.agent == agent }.count
        }
        while engine.now - start < window {
            for agent in ["metered", "free"] {
                while queued(agent) < 4 {
                    id += 1
                    try engine.submit(id: id, agent: agent, words: words, maxTokens: maxTokens)
                }
            }
            engine.step()
        }

        let served = Double(scheduler.quotaUse(of: "metered").tokensUsed)
        // A full bucket at the start, then the refill; at most one request per slot overshoots.
        let expected = 6000.0 + 100.0 * 600
        #expect(abs(served - expected) <= 0.05 * expected, "served \(served) tokens, expected \(expected)")
        #expect(scheduler.quotaUse(of: "metered").refusals == 0)

        // The engine never idled: the unlimited agent got every token the metered one could not use.
        let capacity = 4.0 * Double(words + maxTokens) / Double(maxTokens) * Double(window / engine.stepNanos)
        let free = try #require(scheduler.account(of: "free"))
        let freeServed = Double(free.promptTokens + free.completionTokens)
        #expect(freeServed >= 0.95 * (capacity - served), "free agent served \(freeServed) of \(capacity - served)")
    }

    @Test(arguments: SchedulingPolicy.allCases)
    func aThrottledAgentDoesNotHoldUpAnother(_ policy: SchedulingPolicy) throws {
        let clock = ManualClock()
        let (scheduler, _) = scheduler(policy, clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 60), for: "metered")
        _ = try run(1, "free", costing: 1000, on: scheduler)
        _ = try run(2, "metered", costing: 100, on: scheduler)
        // The throttled agent's requests come first by every policy's measure:
        // earlier, of higher priority, and of an agent served less.
        for id in 3...5 { try scheduler.submit(request(UInt64(id), "metered", priority: 10)) }
        try scheduler.submit(request(6, "free"))

        #expect(scheduler.take()?.id == 6)
        #expect(scheduler.take() == nil)
        #expect(scheduler.queueLength == 3)
        #expect(scheduler.quotaUse(of: "metered").throttled == 3)
    }

    @Test func aThrottledRequestRunsOnceTheBucketIsPositiveAgain() throws {
        let clock = ManualClock()
        let (scheduler, _) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 60), for: "metered")
        _ = try run(1, "metered", costing: 100, on: scheduler)  // 60 - 100 = -40 tokens, at 1 a second
        try scheduler.submit(request(2, "metered"))

        clock.advance(by: 40 * Self.second)
        #expect(scheduler.take() == nil)
        clock.advance(by: Self.second)
        #expect(scheduler.take()?.id == 2)
    }

    @Test func aRequestThatWaitsForBudgetTooLongFailsWithQuotaExceeded() throws {
        let clock = ManualClock()
        let (scheduler, log) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 60, maxWaitNanos: 5 * Self.second), for: "metered")
        _ = try run(1, "metered", costing: 1000, on: scheduler)
        let early = Recorder(), late = Recorder()
        try scheduler.submit(request(2, "metered", sink: early))
        clock.advance(by: 3 * Self.second)
        try scheduler.submit(request(3, "metered", sink: late))

        clock.advance(by: 2 * Self.second)
        #expect(scheduler.take() == nil)
        #expect(early.outcome == nil)  // waited exactly the most it may

        clock.advance(by: Self.second / 2)
        #expect(scheduler.take() == nil)
        let message = "metered is over its tokens_per_minute quota (60); the request waited 5.5 s for budget "
            + "(raise it with `agentctl quota metered tokens_per_minute=...`)"
        #expect(failure(of: early)?.code == .quotaExceeded)
        #expect(failure(of: early)?.message == message)
        #expect(late.outcome == nil)  // its own wait began when it was queued
        #expect(log.all.map(\.agent) == ["metered"])
        #expect(log.all.map(\.quota) == ["tokens_per_minute"])
        #expect(log.all.map(\.message) == [message])
        #expect(scheduler.quotaUse(of: "metered") == InferenceQuotaUse(
            tokensAvailable: -935, tokensUsed: 1000, tokensLastMinute: 1000, inFlight: 2, throttled: 1, refusals: 1))
        #expect(scheduler.account(of: "metered")?.failed == 1)
        #expect(scheduler.queueLength == 1)
    }

    @Test func anIdleEngineWakesInTimeToExpireARequest() throws {
        let (scheduler, log) = scheduler(clock: monotonicNanos)
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 60, maxWaitNanos: 30_000_000), for: "metered")
        _ = try run(1, "metered", costing: 1000, on: scheduler)
        let waiting = Recorder()
        try scheduler.submit(request(2, "metered", sink: waiting))

        let start = monotonicNanos()
        #expect(scheduler.take(waitingUntil: start + 600_000_000) == nil)
        #expect(failure(of: waiting)?.code == .quotaExceeded)
        let refusal = try #require(log.all.first)
        #expect(refusal.at - start < 400_000_000, "expired after \((refusal.at - start) / 1_000_000) ms, allowed 30 ms")
    }

    @Test func takeSleepsUntilTheRefillWithoutSpinning() throws {
        let reads = Counter()
        let (scheduler, _) = scheduler(clock: {
            reads.increment()
            return monotonicNanos()
        })
        // 1000 tokens a second: a debt of 30 tokens is paid off in 30 ms.
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 60_000), for: "metered")
        let start = monotonicNanos()
        _ = try run(1, "metered", costing: 60_030, on: scheduler)
        try scheduler.submit(request(2, "metered"))
        reads.reset()

        #expect(scheduler.take(waitingUntil: monotonicNanos() + 5 * Self.second)?.id == 2)
        let elapsed = monotonicNanos() - start
        #expect(elapsed >= 30_000_000 && elapsed < 2 * Self.second)
        #expect(reads.count < 20)
    }

    @Test func takeReturnsNilAtItsDeadlineWhenTheRefillComesLater() throws {
        let clock = ManualClock()
        let (scheduler, _) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 60), for: "metered")
        _ = try run(1, "metered", costing: 100, on: scheduler)
        let waiting = Recorder()
        try scheduler.submit(request(2, "metered", sink: waiting))

        let start = monotonicNanos()
        #expect(scheduler.take(waitingUntil: start + 20_000_000) == nil)
        #expect(monotonicNanos() - start >= 20_000_000)
        #expect(waiting.outcome == nil)
        #expect(scheduler.queueLength == 1)
    }

    // MARK: token_budget and concurrent_inference

    @Test func submitRefusesOnceTheTokenBudgetIsUsed() throws {
        let clock = ManualClock()
        let (scheduler, log) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokenBudget: 100), for: "support")
        let running = Recorder()
        try scheduler.submit(request(1, "support", sink: running))
        let taken = try #require(scheduler.take())
        scheduler.charge(taken, promptTokens: 60, completionTokens: 40)

        let message = "support has used its token budget (100 tokens); raise it with `agentctl quota support token_budget=...`"
        #expect(throws: KernelError.self) { try scheduler.submit(request(2, "support")) }
        do { try scheduler.submit(request(3, "support")) } catch {
            #expect(error.code == .quotaExceeded)
            #expect(error.message == message)
        }
        #expect(log.all.map(\.quota) == ["token_budget", "token_budget"])
        #expect(log.all.map(\.message) == [message, message])

        // The running request finishes; another agent is not affected.
        scheduler.charge(taken, promptTokens: 0, completionTokens: 5)
        taken.finish(.stop, at: clock.now)
        #expect((try running.outcome?.get())?.finishReason == .stop)
        try scheduler.submit(request(4, "other"))
        #expect(scheduler.quotaUse(of: "support") == InferenceQuotaUse(tokensUsed: 105, tokensLastMinute: 105, refusals: 2))
    }

    @Test func submitRefusesBeyondTheConcurrentRequests() throws {
        let clock = ManualClock()
        let (scheduler, log) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(concurrentRequests: 2), for: "support")
        try scheduler.submit(request(1, "support"))
        try scheduler.submit(request(2, "support"))
        do {
            try scheduler.submit(request(3, "support"))
            Issue.record("a third request was queued")
        } catch {
            #expect(error.code == .quotaExceeded)
            #expect(error.message == "support already has 2 inference requests queued or running, its concurrent_inference "
                + "quota; wait for one to end or raise it with `agentctl quota support concurrent_inference=...`")
        }
        #expect(log.all.map(\.quota) == ["concurrent_inference"])

        let first = try #require(scheduler.take())
        #expect(throws: KernelError.self) { try scheduler.submit(request(4, "support")) }  // running still counts
        first.finish(.stop, at: clock.now)
        try scheduler.submit(request(5, "support"))
        #expect(scheduler.quotaUse(of: "support").inFlight == 2)
        #expect(scheduler.quotaUse(of: "support").refusals == 2)
    }

    // MARK: Use and lifecycle

    @Test func quotaUseReportsTheBucketTheUsageAndTheCounts() throws {
        let clock = ManualClock()
        let (scheduler, _) = scheduler(clock: { clock.now })
        #expect(scheduler.quotaUse(of: "metered") == InferenceQuotaUse())
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 600, tokenBudget: 10_000), for: "metered")
        #expect(scheduler.quotaUse(of: "metered") == InferenceQuotaUse(tokensAvailable: 600))

        _ = try run(1, "metered", costing: 650, on: scheduler)
        try scheduler.submit(request(2, "metered"))
        try scheduler.submit(request(3, "metered"))
        #expect(scheduler.quotaUse(of: "metered") == InferenceQuotaUse(
            tokensAvailable: -50, tokensUsed: 650, tokensLastMinute: 650, inFlight: 3, throttled: 2, refusals: 0))

        clock.advance(by: 10 * Self.second)  // 10 tokens a second
        #expect(scheduler.quotaUse(of: "metered") == InferenceQuotaUse(
            tokensAvailable: 50, tokensUsed: 650, tokensLastMinute: 650, inFlight: 3, throttled: 0, refusals: 0))

        // A minute on, the bucket is full again and the last minute spent nothing; the budget still counts it all.
        clock.advance(by: 60 * Self.second)
        #expect(scheduler.quotaUse(of: "metered").tokensLastMinute == 0)
        #expect(scheduler.quotaUse(of: "metered").tokensUsed == 650)
    }

    @Test func forgetQuotaDropsTheQuotaAndItsUsage() throws {
        let clock = ManualClock()
        let (scheduler, _) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokensPerMinute: 600, tokenBudget: 10), for: "support")
        let taken = try run(1, "support", costing: 700, on: scheduler)
        #expect(throws: KernelError.self) { try scheduler.submit(request(2, "support")) }

        scheduler.forgetQuota(of: "support")
        #expect(scheduler.quotaUse(of: "support") == InferenceQuotaUse(inFlight: 1))
        try scheduler.submit(request(3, "support"))
        #expect(scheduler.take()?.id == 3)  // no longer throttled
        scheduler.charge(taken, promptTokens: 5, completionTokens: 5)
        #expect(scheduler.quotaUse(of: "support").tokensUsed == 0)  // nothing counts without a quota
    }

    @Test func removingAQuotaKeepsItsUsage() throws {
        let clock = ManualClock()
        let (scheduler, _) = scheduler(clock: { clock.now })
        scheduler.setQuota(InferenceQuota(tokenBudget: 10), for: "support")
        let taken = try run(1, "support", costing: 10, on: scheduler)
        taken.finish(.stop, at: clock.now)

        scheduler.setQuota(nil, for: "support")
        try scheduler.submit(request(2, "support"))
        scheduler.setQuota(InferenceQuota(tokenBudget: 10), for: "support")
        #expect(throws: KernelError.self) { try scheduler.submit(request(3, "support")) }
        #expect(scheduler.quotaUse(of: "support").tokensUsed == 10)
    }
}
