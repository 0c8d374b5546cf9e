import ControlAPI
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Evaluation

/// The JSON report, its summary and table, and the JUnit XML.
@Suite struct ReportTests {
    static let suite = Suite(
        path: "evals/support.yaml", description: "d", target: "support", defaults: Defaults(timeoutMs: 1000, repeat: 2, seed: 42, temperature: 0),
        cases: [
            EvalCase(description: "Price <A&B>", category: "price", input: "q1", assertions: [
                Assertion(.contains, .scalar("229")), Assertion(.toolCalled, .scalar("catalog.lookup_product")),
            ], source: "s.yaml:3"),
            EvalCase(description: "Off topic", category: "off-topic", input: "q2", assertions: [Assertion(.contains, .scalar("sorry"))], source: "s.yaml:9"),
        ])

    static let calls = [ToolCall(name: "catalog.lookup_product", argumentsText: #"{"sku":"A-200"}"#)]

    static func results() -> [RunResult] {
        [
            RunResult(caseIndex: 0, repetition: 0, case: suite.cases[0], observation: Observation(
                reply: "229 \"USD\" <b> & \u{1}", latencyMs: 100, inferenceRequests: [1], toolCalls: calls, promptTokens: 300, generatedTokens: 20)),
            RunResult(caseIndex: 0, repetition: 1, case: suite.cases[0], observation: Observation(
                reply: "free", latencyMs: 300, inferenceRequests: [2], toolCalls: [], promptTokens: 200, generatedTokens: 10)),
            RunResult(caseIndex: 1, repetition: 0, case: suite.cases[1], observation: Observation(
                reply: "sorry", latencyMs: 200, inferenceRequests: [3], toolCalls: nil)),
            RunResult(caseIndex: 1, repetition: 1, case: suite.cases[1], observation: Observation(
                reply: "", latencyMs: 1000, toolCalls: nil, failure: "no answer within 1000 ms")),
        ]
    }

    static func report() -> EvalReport {
        EvalReport(suite: suite, results: results(), concurrency: 4, threshold: 0.5, startedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func theSummaryCountsRunsLatencyTokensAndToolCalls() {
        let summary = Self.report().summary
        #expect(summary.cases == 2 && summary.runs == 4 && summary.passedRuns == 2 && summary.passRate == 0.5)
        #expect(summary.repeatPassRates == [1, 0])
        #expect(summary.unanswered == 1)
        #expect(summary.latencyMs == EvalReport.Latency(p50: 200, p95: 300, max: 300))
        #expect(summary.promptTokens == 500 && summary.generatedTokens == 30 && summary.costTokens == 530)
        #expect(summary.toolAssertions == 2 && summary.toolAssertionsPassed == 1 && summary.toolCallAccuracy == 0.5)
        #expect(summary.meanScore == 0.5)
        #expect(summary.categories == [
            EvalReport.Category(name: "price", runs: 2, passedRuns: 1, passRate: 0.5),
            EvalReport.Category(name: "off-topic", runs: 2, passedRuns: 1, passRate: 0.5),
        ])
        #expect(summary.passRateInterval95.count == 2 && summary.passRateInterval95[0] < 0.5 && summary.passRateInterval95[1] > 0.5)
    }

    @Test func theTableAndSummaryLines() {
        let report = Self.report()
        #expect(report.tableRows[0] == ["CASE", "RESULT", "LATENCY", "TOKENS", "FIRST FAILURE"])
        #expect(report.tableRows[1] == [
            "Price <A&B>", "1/2", "100ms", "15",
            #"contains "229": the answer lacks "229""#,
        ])
        #expect(report.tableRows[2] == ["Off topic", "1/2", "200ms", "-", "no answer within 1000 ms"])
        let lines = report.summaryLines
        #expect(lines[0].hasPrefix("2 cases × 2 runs: 2/4 passed, pass rate 50.0% (95% interval 15.0%–85.0%)"), "\(lines[0])")
        #expect(lines.contains("over 2 repeats: pass rate min 0.0%, max 100.0%"))
        #expect(lines.contains("latency: p50 200ms, p95 300ms, max 300ms; 1 run got no answer"))
        #expect(lines.contains("tokens: 500 in, 30 out; cost 530 tokens (132 per run)"))
        #expect(lines.contains("tool calls: 1/2 tool-called assertions passed (50.0%)"))
        #expect(lines.contains("by category: price 1/2 (50.0%), off-topic 1/2 (50.0%)"))
    }

    @Test func theJSONReportHasSortedSnakeCaseKeysAndReadsBack() throws {
        let report = Self.report()
        let data = try report.json()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""pass_rate_interval95""#) && text.contains(#""tool_call_accuracy" : 0.5"#))
        #expect(text.contains(#""tool_calls" : ["#) && text.contains(#"catalog.lookup_product({\"sku\":\"A-200\"})"#))
        // Sorted keys: "cases" before "description" before "settings" at the top level.
        let top = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        #expect(top == ["cases", "description", "settings", "started_at", "suite", "summary", "target"])
        #expect(try report.json() == data)
        let folder = Folder()
        let path = folder.path + "/r.json"
        try data.write(to: URL(fileURLWithPath: path))
        #expect(try EvalReport(contentsOfFile: path) == report)
        #expect(throws: EvaluationError("cannot read report /nonexistent.json: no such file")) { try EvalReport(contentsOfFile: "/nonexistent.json") }
        let junk = folder.write("junk.json", "{}")
        #expect(throws: EvaluationError.self) { try EvalReport(contentsOfFile: junk) }
    }

    @Test func theJUnitXMLIsWellFormed() throws {
        let xml = Self.report().junitXML
        #if canImport(FoundationXML) || os(macOS)
        let document = try XMLDocument(xmlString: xml, options: [])
        let root = try #require(document.rootElement())
        #expect(root.name == "testsuites")
        #expect(root.attribute(forName: "tests")?.stringValue == "4")
        #expect(root.attribute(forName: "failures")?.stringValue == "2")
        let suite = try #require(root.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "name")?.stringValue == "support.yaml")
        let cases = suite.elements(forName: "testcase")
        #expect(cases.map { $0.attribute(forName: "name")?.stringValue ?? "" } == [
            "Price <A&B> (run 1)", "Price <A&B> (run 2)", "Off topic (run 1)", "Off topic (run 2)",
        ])
        #expect(cases[0].attribute(forName: "classname")?.stringValue == "support.price")
        #expect(cases[0].attribute(forName: "time")?.stringValue == "0.100")
        #expect(cases[0].elements(forName: "failure").isEmpty)
        #expect(cases[0].elements(forName: "system-out").first?.stringValue == "229 \"USD\" <b> & \u{FFFD}")
        let failure = try #require(cases[1].elements(forName: "failure").first)
        #expect(failure.attribute(forName: "type")?.stringValue == "contains")
        #expect(failure.attribute(forName: "message")?.stringValue == #"contains "229": the answer lacks "229""#)
        #expect(cases[3].elements(forName: "failure").first?.attribute(forName: "type")?.stringValue == "no-answer")
        #else
        #expect(xml.hasPrefix("<?xml") && xml.components(separatedBy: "<testcase ").count == 5)
        #endif
    }

    @Test func xmlEscapingKeepsEveryCharacterLegal() {
        #expect(EvalReport.escaped("a<b>&\"c'\n\t\u{0}\u{FFFE}é") == "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#9;\u{FFFD}\u{FFFD}é")
    }
}
