import ArgumentParser
import ControlAPI
import Evaluation
import Foundation

/// `agentctl eval SUITE`: run a suite of cases against an agent and check its answers.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a suite of test cases against an agent and check its answers.",
        discussion: """
            A suite (YAML) names a target agent and cases: each sends its input \
            to the agent the way `agentctl send --wait` does and checks the \
            answer with assertions: contains, icontains, regex, equals, is-json, \
            json-schema, tool-called (from the traces of the inference behind \
            the answer), max-latency-ms, max-tokens; not-contains and the like, \
            or negate: true, invert one; weight sets its share of the case's \
            score. A template case runs once per row of the suite's cases_file \
            (CSV with a header, or a YAML list of maps), its {{column}}s filled \
            in. The suite's seed and temperature are recorded in the report \
            only: the agent chooses its own sampling. See \
            sdk/examples/evals/support.yaml.

            Prints a row per case (RESULT is passed/runs with --repeat), then \
            the pass rate with its 95% interval, latency p50/p95/max, tokens and \
            cost, and tool-call accuracy. A case without an answer in time fails \
            and the run goes on.

            With --compare OLD NEW (two --output reports, no suite), prints the \
            cases that regressed or were fixed, and exits 0.

            Exit codes: 0 when the pass rate reaches --threshold (or none is \
            given), 100 when it falls below, 1 for a bad suite, an unknown \
            agent or a kernel error, 2 for usage, 3 when the kernel is not running.

            Examples:
              agentctl eval sdk/examples/evals/support.yaml
              agentctl eval suite.yaml --threshold 0.8 --output r.json --junit r.xml
              agentctl eval suite.yaml --repeat 5 --concurrency 8
              agentctl eval suite.yaml --filter '^Price of A-'
              agentctl eval --compare before.json after.json
            """
    )

    @Argument(help: "The suite file (YAML).")
    var suite: String?

    @Option(help: ArgumentHelp("Write the whole report as JSON to this file.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Write a JUnit XML report to this file, for CI.", valueName: "file"))
    var junit: String?

    @Option(help: ArgumentHelp("The pass rate (0-1) the run must reach, else exit 100.", valueName: "rate"))
    var threshold: Double?

    @Option(name: .customLong("repeat"), help: ArgumentHelp("Runs per case (default: the suite's, else 1).", valueName: "n"))
    var repetitions: Int?

    @Option(help: ArgumentHelp("Cases in flight at once.", valueName: "n"))
    var concurrency = 4

    @Option(help: ArgumentHelp("Run only the cases whose description matches this regular expression.", valueName: "regex"))
    var filter: String?

    @Option(help: ArgumentHelp("Seconds to wait for each answer (default: the suite's timeout_ms).", valueName: "seconds"))
    var timeout: Double?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Compare two reports of --output, case by case.", valueName: "old new"))
    var compare: [String] = []

    func validate() throws {
        if !compare.isEmpty {
            guard compare.count == 2 else { throw ValidationError("--compare takes two reports: OLD NEW") }
            guard suite == nil else { throw ValidationError("--compare takes no suite") }
            return
        }
        guard suite != nil else { throw ValidationError("give a suite file (or --compare OLD NEW)") }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be a rate from 0 to 1, like 0.9") }
        if let repetitions, repetitions < 1 { throw ValidationError("--repeat must be at least 1") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        if let filter, (try? Regex(filter)) == nil { throw ValidationError("--filter \"\(filter)\" is not a regular expression") }
        if let timeout { guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be in (0, 86400] seconds") } }
    }

    func run() async throws {
        do {
            if compare.count == 2 {
                let comparison = Comparison(old: try EvalReport(contentsOfFile: compare[0]), new: try EvalReport(contentsOfFile: compare[1]))
                comparison.lines(oldName: compare[0], newName: compare[1]).forEach { print($0) }
                return
            }
            var suite = try SuiteLoader.load(suite ?? "")
            if let timeout { suite.defaults.timeoutMs = Int(timeout * 1000) }
            try await evaluate(try filter.map { pattern throws(EvaluationError) in try suite.filtered(matching: pattern) } ?? suite)
        } catch let error as EvaluationError {
            printError("agentctl: \(error)")
            throw ExitCode.failure
        }
    }

    private func evaluate(_ suite: Suite) async throws {
        let startedAt = Date()
        let showProgress = isatty(STDERR_FILENO) != 0
        let results = try await Runner(connection: KernelConnection(), concurrency: concurrency)
            .run(suite, repeat: repetitions) { result, done, total in
                guard showProgress else { return }
                printError("[\(done)/\(total)] \(result.passed ? "pass" : "FAIL")  \(suite.cases[result.caseIndex].description)")
            }
        let report = EvalReport(suite: suite, results: results, concurrency: concurrency, threshold: threshold, startedAt: startedAt)
        printTable(report.tableRows)
        print("")
        report.summaryLines.forEach { print($0) }
        if let output { try write(report.json(), to: output) }
        if let junit { try write(Data(report.junitXML.utf8), to: junit) }
        if let threshold, report.summary.passRate < threshold {
            printError(String(format: "agentctl: pass rate %.1f%% is below the threshold %.1f%%", report.summary.passRate * 100, threshold * 100))
            throw ExitCode(100)
        }
    }

    private func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw EvaluationError("cannot write \(path): \((error as NSError).localizedDescription)")
        }
    }
}
