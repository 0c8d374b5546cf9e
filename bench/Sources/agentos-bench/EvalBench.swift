import ControlAPI
import Foundation

/// What `agentctl eval` costs on top of the answers it waits for, and what
/// running cases side by side gains: the support suite's first cases with
/// --concurrency 1 and 8, on one kernel with the model; and, as the ceiling
/// of that gain, what llama.cpp's own tools gain from 8 sequences at once.
struct EvalBench {
    let agentosd: String
    let agentctl: String
    let plugins: String
    let suite: String
    let tools: LlamaTools

    /// The suite's cases that run (8: two of each kind the model answers quickly).
    static let subset = #"^(Price of A-10[01]|Price of A-20[01]|Stock of (A-101|B-301)|Cheaper|Off topic, the capital)"#

    func run(into table: inout ResultTable) async throws {
        let arguments = ["--model", tools.model, "--threads", "\(tools.threads)", "--slots", "8", "--ctx", "16384"]
        let (serial, parallel, settings) = try await BenchKernel.with(agentosd: agentosd, arguments) { kernel in
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/catalog.so"))
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/support.so", grants: ["infer", "tool:catalog.*"]))
            let serial = try await evaluate(concurrency: 1, home: kernel.home)
            let parallel = try await evaluate(concurrency: 8, home: kernel.home)
            return (serial, parallel, try await kernel.client.engine().settings)
        }
        table.add("eval: suite wall time, --concurrency 1", agentos: serial.wallNanos, baseline: serial.latencyNanos, unit: .nanoseconds,
                  baselineIs: "the sum of its cases' own latencies", goal: "≤ 1.05×", lowerIsBetter: true)
        table.add("eval: cases per minute, --concurrency 8", agentos: parallel.casesPerMinute, baseline: serial.casesPerMinute,
                  unit: .perMinute, baselineIs: "the same suite with --concurrency 1", goal: "≥ 2×", lowerIsBetter: false)
        // The most 8 cases at once can gain where their time is decoding: what llama.cpp itself
        // gains on this machine from decoding 8 sequences together (prefill gains nothing on a CPU).
        let one = try await tools.bench(prompt: 0, generate: 128, repetitions: 3, settings: settings)
        let eight = try await tools.batchedDecode(parallel: 8, context: 8 * 512, settings: settings)
        table.add("  llama.cpp's own decode, 8 sequences", agentos: eight, baseline: one, unit: .tokensPerSecond,
                  baselineIs: "llama-bench tg128, one sequence (the row above's ceiling)", goal: "report", lowerIsBetter: false)
    }

    private struct Run {
        var wallNanos: Double
        var latencyNanos: Double
        var cases: Int
        var casesPerMinute: Double { Double(cases) / (wallNanos / 60e9) }
    }

    /// One run of the subset: its wall time, and the sum of the latencies the report gives.
    private func evaluate(concurrency: Int, home: AgentOSHome) async throws -> Run {
        let report = NSTemporaryDirectory() + "agentos-bench-eval-\(getpid())-\(concurrency).json"
        let started = DispatchTime.now().uptimeNanoseconds
        _ = try await Subprocess.output(
            of: agentctl, ["eval", suite, "--filter", Self.subset, "--concurrency", "\(concurrency)", "--output", report],
            environment: ["AGENTOS_HOME": home.path])
        let wall = Double(DispatchTime.now().uptimeNanoseconds - started)
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any],
              let cases = object["cases"] as? [[String: Any]] else { throw BenchError("agentctl eval wrote no report to \(report)") }
        let latencies = cases.flatMap { ($0["runs"] as? [[String: Any]]) ?? [] }.compactMap { ($0["latency_ms"] as? NSNumber)?.doubleValue }
        return Run(wallNanos: wall, latencyNanos: latencies.reduce(0, +) * 1e6, cases: latencies.count)
    }
}
