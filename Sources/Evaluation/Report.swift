import ControlAPI
import Foundation

/// Everything a run found, as `--output` writes it (JSON, sorted snake_case
/// keys) and `--compare` reads it back.
public struct EvalReport: Codable, Sendable, Equatable {
    /// The suite file, as given.
    public var suite: String
    public var description: String?
    public var target: String
    public var startedAt: Date
    public var settings: Settings
    public var summary: Summary
    public var cases: [CaseReport]

    /// How the run was made.
    public struct Settings: Codable, Sendable, Equatable {
        public var timeoutMs: Int
        public var `repeat`: Int
        public var concurrency: Int
        /// The suite's seed and temperature, recorded only: the agent samples as it chooses.
        public var seed: Int?
        public var temperature: Double?
        /// The pass rate the run had to reach, if any.
        public var threshold: Double?
    }

    /// The run at a glance.
    public struct Summary: Codable, Sendable, Equatable {
        public var cases: Int
        public var runs: Int
        public var passedRuns: Int
        /// Passed runs over runs.
        public var passRate: Double
        /// The 95% Wilson interval of the pass rate: [low, high].
        public var passRateInterval95: [Double]
        /// The pass rate of each repeat over all cases, in order.
        public var repeatPassRates: [Double]
        /// Mean score (passed weight over total weight) over runs.
        public var meanScore: Double
        /// Runs that got no answer (timed out, handler failed).
        public var unanswered: Int
        /// Over the runs that got an answer; nil when none did.
        public var latencyMs: Latency?
        /// Summed over the runs whose traces were read; nil when none were.
        public var promptTokens: Int?
        public var generatedTokens: Int?
        /// Prompt plus generated tokens: what the run cost the engine.
        public var costTokens: Int?
        /// tool-called assertions, and how many passed.
        public var toolAssertions: Int
        public var toolAssertionsPassed: Int
        /// toolAssertionsPassed / toolAssertions; nil without any.
        public var toolCallAccuracy: Double?
        /// Pass rates per case category, by name; empty when no case has one.
        public var categories: [Category]
    }

    /// Latency percentiles in milliseconds (nearest rank).
    public struct Latency: Codable, Sendable, Equatable {
        public var p50: Double
        public var p95: Double
        public var max: Double
    }

    /// The pass rate of one category of cases.
    public struct Category: Codable, Sendable, Equatable {
        public var name: String
        public var runs: Int
        public var passedRuns: Int
        public var passRate: Double
    }

    /// One case over all its runs.
    public struct CaseReport: Codable, Sendable, Equatable {
        public var description: String
        public var category: String?
        public var input: String
        /// Where the case is written.
        public var source: String
        public var runs: [RunReport]
        public var passedRuns: Int
        public var passRate: Double
        public var meanScore: Double
    }

    /// One run of a case.
    public struct RunReport: Codable, Sendable, Equatable {
        /// Which repeat, from 0.
        public var repetition: Int
        public var passed: Bool
        public var score: Double
        public var latencyMs: Double
        public var reply: String
        /// Why no answer came.
        public var failure: String?
        public var promptTokens: Int?
        public var generatedTokens: Int?
        public var inferenceRequests: [UInt64]
        /// `catalog.lookup_product({"sku":"A-200"})`, in order; nil when the traces were unavailable.
        public var toolCalls: [String]?
        public var assertions: [AssertionReport]

        /// Why it failed, first reason only: the missing answer, or the first failed assertion.
        public var firstFailure: String? {
            failure ?? assertions.first { !$0.passed }.map { "\($0.assertion): \($0.detail)" }
        }
    }

    /// One assertion's verdict on one run.
    public struct AssertionReport: Codable, Sendable, Equatable {
        /// `contains`, `not-tool-called`, ...
        public var type: String
        /// `contains "229"`, `not tool-called catalog.check_stock`.
        public var assertion: String
        public var passed: Bool
        public var weight: Double
        /// What was found: on a failure, why.
        public var detail: String
    }
}

extension EvalReport {
    /// The report of `results`, the runs of `suite`'s cases.
    public init(suite: Suite, results: [RunResult], concurrency: Int, threshold: Double?, startedAt: Date) {
        let repetitions = (results.map(\.repetition).max() ?? 0) + 1
        self.suite = suite.path
        description = suite.description
        target = suite.target
        self.startedAt = startedAt
        settings = Settings(
            timeoutMs: suite.defaults.timeoutMs, repeat: repetitions, concurrency: concurrency,
            seed: suite.defaults.seed, temperature: suite.defaults.temperature, threshold: threshold)
        cases = suite.cases.enumerated().map { index, evalCase in
            let runs = results.filter { $0.caseIndex == index }
            return CaseReport(
                description: evalCase.description, category: evalCase.category, input: evalCase.input, source: evalCase.source,
                runs: runs.map(RunReport.init), passedRuns: runs.filter(\.passed).count,
                passRate: Self.rate(runs.filter(\.passed).count, runs.count),
                meanScore: runs.isEmpty ? 0 : runs.reduce(0) { $0 + $1.score } / Double(runs.count))
        }
        summary = Summary(suite: suite, results: results, repetitions: repetitions)
    }

    static func rate(_ part: Int, _ whole: Int) -> Double {
        whole == 0 ? 0 : Double(part) / Double(whole)
    }
}

extension EvalReport.Summary {
    init(suite: Suite, results: [RunResult], repetitions: Int) {
        cases = suite.cases.count
        runs = results.count
        passedRuns = results.filter(\.passed).count
        passRate = EvalReport.rate(passedRuns, runs)
        let interval = Statistics.wilsonInterval(passed: passedRuns, of: runs) ?? 0...0
        passRateInterval95 = [interval.lowerBound, interval.upperBound]
        repeatPassRates = (0..<repetitions).map { repetition in
            let round = results.filter { $0.repetition == repetition }
            return EvalReport.rate(round.filter(\.passed).count, round.count)
        }
        meanScore = results.isEmpty ? 0 : results.reduce(0) { $0 + $1.score } / Double(results.count)
        let answered = results.filter { $0.observation.failure == nil }
        unanswered = results.count - answered.count
        let latencies = answered.map(\.observation.latencyMs)
        latencyMs = latencies.isEmpty ? nil : EvalReport.Latency(
            p50: Statistics.percentile(50, of: latencies)!, p95: Statistics.percentile(95, of: latencies)!, max: latencies.max()!)
        let traced = results.compactMap { result in
            result.observation.promptTokens.flatMap { prompt in result.observation.generatedTokens.map { (prompt, $0) } }
        }
        promptTokens = traced.isEmpty ? nil : traced.reduce(0) { $0 + $1.0 }
        generatedTokens = traced.isEmpty ? nil : traced.reduce(0) { $0 + $1.1 }
        costTokens = traced.isEmpty ? nil : promptTokens! + generatedTokens!
        let toolOutcomes = results.flatMap(\.outcomes).filter { $0.assertion.kind == .toolCalled }
        toolAssertions = toolOutcomes.count
        toolAssertionsPassed = toolOutcomes.filter(\.passed).count
        toolCallAccuracy = toolAssertions == 0 ? nil : EvalReport.rate(toolAssertionsPassed, toolAssertions)
        var names: [String] = []
        for name in suite.cases.compactMap(\.category) where !names.contains(name) { names.append(name) }
        categories = names.map { name in
            let runs = results.filter { suite.cases[$0.caseIndex].category == name }
            let passed = runs.filter(\.passed).count
            return EvalReport.Category(name: name, runs: runs.count, passedRuns: passed, passRate: EvalReport.rate(passed, runs.count))
        }
    }
}

extension EvalReport.RunReport {
    init(_ result: RunResult) {
        let observation = result.observation
        repetition = result.repetition
        passed = result.passed
        score = result.score
        latencyMs = observation.latencyMs
        reply = observation.reply
        failure = observation.failure
        promptTokens = observation.promptTokens
        generatedTokens = observation.generatedTokens
        inferenceRequests = observation.inferenceRequests
        toolCalls = observation.toolCalls?.map(\.summary)
        assertions = result.outcomes.map {
            EvalReport.AssertionReport(
                type: $0.assertion.typeName, assertion: $0.assertion.summary, passed: $0.passed, weight: $0.assertion.weight, detail: $0.detail)
        }
    }
}

extension EvalReport {
    /// The report as indented JSON with sorted snake_case keys.
    public func json() throws -> Data {
        try ControlJSON.encoder(pretty: true).encode(self)
    }

    /// Reads a report `--output` wrote.
    public init(contentsOfFile path: String) throws(EvaluationError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EvaluationError("cannot read report \(path): \(FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")")
        }
        do {
            self = try ControlJSON.decoder().decode(EvalReport.self, from: data)
        } catch {
            throw EvaluationError("\(path) is not a report of agentctl eval --output (\(error))")
        }
    }
}
