import ControlAPI

/// Runs a suite's cases against its target, several at once (the kernel
/// batches their inference), each `repeat` times, and checks every answer.
public struct Runner: Sendable {
    public var connection: any AgentConnection
    /// Cases in flight at once.
    public var concurrency: Int

    public init(connection: any AgentConnection, concurrency: Int = 4) {
        self.connection = connection
        self.concurrency = max(concurrency, 1)
    }

    /// Checks the target, then runs every case `repeat` times (the suite's
    /// default when nil); results come in case order, repeats together.
    /// `progress` hears of each run as it ends, with the count done so far.
    /// A case that gets no answer fails and the run goes on; any other
    /// error (the kernel went away, the agent was unloaded) ends it.
    public func run(
        _ suite: Suite, repeat repetitions: Int? = nil,
        progress: @escaping @Sendable (_ result: RunResult, _ done: Int, _ total: Int) -> Void = { _, _, _ in }
    ) async throws -> [RunResult] {
        try await connection.checkTarget(suite.target)
        let repetitions = repetitions ?? suite.defaults.repeat
        let jobs = (0..<repetitions).flatMap { repetition in suite.cases.indices.map { (caseIndex: $0, repetition: repetition) } }
        return try await withThrowingTaskGroup(of: RunResult.self) { group in
            var pending = jobs.makeIterator()
            var results: [RunResult] = []
            func startNext() {
                guard let job = pending.next() else { return }
                group.addTask {
                    let observation = try await observe(suite.cases[job.caseIndex], target: suite.target, timeoutMs: suite.defaults.timeoutMs)
                    return RunResult(caseIndex: job.caseIndex, repetition: job.repetition, case: suite.cases[job.caseIndex], observation: observation)
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let result = try await group.next() {
                results.append(result)
                progress(result, results.count, jobs.count)
                startNext()
            }
            return results.sorted { ($0.caseIndex, $0.repetition) < ($1.caseIndex, $1.repetition) }
        }
    }

    /// Sends one case's input and reads the traces behind the answer.
    private func observe(_ evalCase: EvalCase, target: String, timeoutMs: Int) async throws -> Observation {
        let clock = ContinuousClock()
        let start = clock.now
        let response: SendResponse
        do {
            response = try await connection.ask(target, evalCase.input, timeoutMs: timeoutMs)
        } catch let failure as CaseFailure {
            let elapsed = clock.now - start
            return Observation(reply: "", latencyMs: Self.milliseconds(elapsed), toolCalls: nil, failure: failure.reason)
        }
        let latencyMs = response.elapsedSeconds.map { $0 * 1000 } ?? Self.milliseconds(clock.now - start)
        let requests = response.inferenceRequests ?? []
        var traces: [RequestTraceInfo] = []
        for id in requests {
            guard let trace = try? await connection.trace(id) else {
                return Observation(reply: response.reply ?? "", latencyMs: latencyMs, inferenceRequests: requests, toolCalls: nil)
            }
            traces.append(trace)
        }
        let reading = TraceReading(traces)
        return Observation(
            reply: response.reply ?? "", latencyMs: latencyMs, inferenceRequests: requests, toolCalls: reading.toolCalls,
            promptTokens: reading.promptTokens, generatedTokens: reading.generatedTokens)
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

/// One run of one case: what it saw and every assertion's verdict.
public struct RunResult: Sendable, Equatable {
    /// The case's index in the suite.
    public var caseIndex: Int
    /// Which repeat, from 0.
    public var repetition: Int
    public var observation: Observation
    /// Every assertion's verdict, in the case's order; empty when no answer came.
    public var outcomes: [AssertionOutcome]

    /// Checks `observation` against `evalCase`'s assertions.
    public init(caseIndex: Int, repetition: Int, case evalCase: EvalCase, observation: Observation) {
        self.caseIndex = caseIndex
        self.repetition = repetition
        self.observation = observation
        outcomes = observation.failure == nil ? evalCase.assertions.map { $0.evaluate(observation) } : []
    }

    /// An answer came and every assertion passed.
    public var passed: Bool { observation.failure == nil && outcomes.allSatisfy(\.passed) }

    /// Passed weight over total weight: 1 for a case without assertions, 0 without an answer.
    public var score: Double {
        guard observation.failure == nil else { return 0 }
        let total = outcomes.reduce(0) { $0 + $1.assertion.weight }
        guard total > 0 else { return outcomes.allSatisfy(\.passed) ? 1 : 0 }
        return outcomes.filter(\.passed).reduce(0) { $0 + $1.assertion.weight } / total
    }
}
