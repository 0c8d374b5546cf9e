import ControlAPI
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import StrictJSON
import Testing

/// `agentctl eval` on a real kernel: the support example's suite with the real
/// model, its reports, and each bad input's exit code and message.
@Suite struct EvalTests {
    static let suite = Paths.root.appendingPathComponent("sdk/examples/evals/support.yaml").path

    /// Two price and two stock cases, and the first case of every other
    /// category: one batch of 8 at --concurrency 8 (about 30 s on 2 cores;
    /// the whole suite, 30 cases, takes about 2 minutes).
    static let subset = #"^(Price of A-10[01]|Stock of (A-101|B-301)|Cheaper|Temperature|Unknown SKU|Off topic, the capital)"#

    /// SmolLM2-135M passes few of them, not always the same (batches differ
    /// from run to run): measured over 10 runs, 2 of 8 (25%) in most, 3 of 8
    /// once, 1 of 8 once; the whole suite 35.6% (32 of 90, 3 repeats). One case
    /// is 12.5 points here, so the threshold sits just below the lowest
    /// measured rate: it fails when the pipeline breaks (no tool loop, no
    /// answers), not when one case flips.
    static let threshold = "0.1"

    @Test func theSupportSuiteReachesItsThresholdWithTheModel() async throws {
        // 8 sequences of 2048 tokens, one per case in flight.
        let kernel = try await KernelProcess(InferenceTests.engine + ["--slots", "8", "--ctx", "16384"])
        defer { _ = kernel.stop() }
        try await kernel.load("catalog")
        try await kernel.load("support", grants: ["infer", "tool:catalog.*"])
        let json = kernel.scratch("r.json"), xml = kernel.scratch("r.xml")
        let run = try await kernel.agentctlAsync(
            "eval", Self.suite, "--filter", Self.subset, "--concurrency", "8", "--threshold", Self.threshold,
            "--timeout", "400", "--output", json, "--junit", xml, timeout: 450)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.hasPrefix("CASE "), "\(run.stdout)")
        #expect(run.stdout.contains("8 cases × 1 run: "), "\(run.stdout)")
        #expect(run.stdout.contains("tool calls: "), "\(run.stdout)")

        let report = try JSONParser.parse(try String(contentsOfFile: json, encoding: .utf8))
        #expect(report["summary"]?["cases"] == .integer(8))
        #expect(report["target"] == .string("support"))
        guard case .array(let cases)? = report["cases"] else { Issue.record("no cases in \(report.jsonText)"); return }
        #expect(cases.count == 8)
        for evalCase in cases {
            guard case .array(let runs)? = evalCase["runs"], let first = runs.first else { Issue.record("\(evalCase.jsonText)"); continue }
            #expect(runs.count == 1)
            // Every answer leads to its inference's traces: tool calls and tokens are known.
            #expect(first["tool_calls"] != nil && first["tool_calls"] != .null, "\(first.jsonText)")
            #expect(first["failure"] != nil || first["generated_tokens"] != nil, "\(first.jsonText)")
        }

        #if canImport(FoundationXML)
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: xml), options: [])
        let testsuite = try #require(document.rootElement()?.elements(forName: "testsuite").first)
        #expect(testsuite.attribute(forName: "tests")?.stringValue == "8")
        #expect(testsuite.elements(forName: "testcase").count == 8)
        #endif

        let same = try kernel.agentctl("eval", "--compare", json, json)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("0 regressions, 0 fixes, 8 unchanged"), "\(same.stdout)")
    }

    /// A kernel without the model, with the echo agent (its answer is its input) and a tool plugin.
    private func kernel() async throws -> KernelProcess {
        let kernel = try await KernelProcess()
        try await kernel.load("echo")
        try await kernel.load("catalog")
        return kernel
    }

    @Test func aPassRateBelowTheThresholdExits100AndStillWritesTheReports() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let suite = try write(kernel, "echo.yaml", """
            target: echo
            cases:
              - description: echoes
                input: hello
                assert: [{type: equals, value: hello}, {type: max-latency-ms, value: 5000}]
              - description: never says nope
                input: hi
                assert: [{type: contains, value: nope}]
            """)
        let below = try kernel.agentctl("eval", suite, "--threshold", "0.9", "--junit", kernel.scratch("e.xml"), "--output", kernel.scratch("e.json"))
        #expect(below.status == 100, "\(below.stderr)")
        #expect(below.stderr == "agentctl: pass rate 50.0% is below the threshold 90.0%\n", "\(below.stderr)")
        #expect(below.stdout.contains(#"never says nope   FAIL"#), "\(below.stdout)")
        #expect(FileManager.default.fileExists(atPath: kernel.scratch("e.xml")) && FileManager.default.fileExists(atPath: kernel.scratch("e.json")))
        let reached = try kernel.agentctl("eval", suite, "--threshold", "0.5", "--repeat", "3")
        #expect(reached.status == 0, "\(reached.stderr)")
        #expect(reached.stdout.contains("2 cases × 3 runs: 3/6 passed"), "\(reached.stdout)")
        #expect(try kernel.agentctl("eval", suite).status == 0)
    }

    @Test func badSuitesExitOneWithTheFileAndLine() async throws {
        let kernel = try await kernel()
        defer { _ = kernel.stop() }
        let cases: [(name: String, yaml: String, error: String)] = [
            ("notyaml.yaml", "target: echo\ncases:\n  - description: \"unclosed\n", "notyaml.yaml:4:1: not valid YAML: found unexpected end of stream"),
            ("type.yaml", "target: echo\ncases:\n  - description: a\n    input: b\n    assert:\n      - {type: containz, value: x}\n",
             #"type.yaml:6:16: cases[0].assert[0].type: unknown assertion type "containz" (known: contains, icontains, regex, equals, is-json, json-schema, tool-called, max-latency-ms, max-tokens, not-contains"#),
            ("nobody.yaml", "target: nobody\ncases:\n  - {description: a, input: b}\n", "no agent named nobody is loaded (see agentctl ps)"),
            ("tool.yaml", "target: catalog\ncases:\n  - {description: a, input: b}\n", "catalog is a tool plugin, not an agent (see agentctl ps)"),
            ("column.yaml", "target: echo\ncases_file: rows.csv\ncases:\n  - {description: \"{{sku}}\", template: true, input: \"{{price}}\"}\n",
             #"rows.csv has no column "price", used by the template case at column.yaml:4 (columns: sku, cost)"#),
            ("empty.yaml", "# nothing yet\n", "empty.yaml: empty suite: expected target and cases"),
            ("nocases.yaml", "target: echo\ncases: []\n", "nocases.yaml: empty suite: no cases"),
        ]
        _ = try write(kernel, "rows.csv", "sku,cost\nA-100,199\n")
        for bad in cases {
            let result = try kernel.agentctl("eval", try write(kernel, bad.name, bad.yaml))
            #expect(result.status == 1, "\(bad.name): \(result.stderr)")
            #expect(result.stderr.hasPrefix("agentctl: " + bad.error), "\(bad.name): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(bad.name): \(result.stdout)")
        }
        let missing = try kernel.agentctl("eval", kernel.scratch("absent.yaml"))
        #expect(missing.status == 1 && missing.stderr == "agentctl: cannot read suite \(kernel.scratch("absent.yaml")): no such file\n", "\(missing.stderr)")
        #expect(try kernel.agentctl("eval", "--compare", kernel.scratch("a.json"), kernel.scratch("b.json")).stderr
            == "agentctl: cannot read report \(kernel.scratch("a.json")): no such file\n")
        try await kernel.expectHealthy()
    }

    @Test(arguments: [
        ["eval"], ["eval", "s.yaml", "--threshold", "2"], ["eval", "s.yaml", "--repeat", "0"], ["eval", "s.yaml", "--concurrency", "0"],
        ["eval", "--compare", "a.json"], ["eval", "s.yaml", "--compare", "a.json", "b.json"], ["eval", "s.yaml", "--filter", "("],
    ])
    func usageErrorsExitTwoWithoutAKernel(_ arguments: [String]) throws {
        let result = try CommandResult.run(Paths.agentctl, arguments, environment: ["AGENTOS_HOME": KernelProcess.newRoot()])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("Error: ") && result.stderr.contains("Usage: agentctl eval"), "\(result.stderr)")
    }

    @Test func aGoodSuiteWithoutAKernelExitsThree() throws {
        let result = try CommandResult.run(Paths.agentctl, ["eval", Self.suite], environment: ["AGENTOS_HOME": KernelProcess.newRoot()])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("agentctl: kernel not running at "), "\(result.stderr)")
    }

    private func write(_ kernel: KernelProcess, _ name: String, _ text: String) throws -> String {
        let path = kernel.scratch(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
