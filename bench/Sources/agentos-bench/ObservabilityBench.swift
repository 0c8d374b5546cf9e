import ControlAPI
import Foundation

/// What metrics cost: the message round trip and single-agent decode on a
/// kernel that records metrics against the same kernel with `--no-metrics`.
struct ObservabilityBench {
    let agentosd: String
    let plugins: String
    let tools: LlamaTools
    let runs: Int

    func run(into table: inout ResultTable) async throws {
        let on = try await measure([])
        let off = try await measure(["--no-metrics"])
        table.add("round trip, metrics on vs off", agentos: on.roundTrip, baseline: off.roundTrip, unit: .nanoseconds,
                  baselineIs: "the same kernel with --no-metrics", goal: "≤ 1.03×", lowerIsBetter: true)
        table.add("decode, 1 agent, metrics on vs off", agentos: on.decode, baseline: off.decode, unit: .tokensPerSecond,
                  baselineIs: "the same kernel with --no-metrics", goal: "≥ 0.97×", lowerIsBetter: false)
    }

    /// Medians of the pinger's round trip (ns) and of one agent's decode rate (t/s) on a kernel started with `flags`.
    private func measure(_ flags: [String]) async throws -> (roundTrip: Double, decode: Double) {
        let arguments = ["--model", tools.model, "--threads", "\(tools.threads)", "--slots", "4", "--ctx", "8192"] + flags
        return try await BenchKernel.with(agentosd: agentosd, arguments) { kernel in
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so"))
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/pinger.so", grants: ["send:echo"]))
            _ = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 8), on: kernel.home)
            var roundTrips: [Double] = []
            var decodes: [Double] = []
            for _ in 0..<max(1, runs) {
                guard let mean = try await kernel.pinger("ping 100000 echo 16")["mean_ns"] else { throw BenchError("pinger reported no mean") }
                roundTrips.append(mean)
                let usage = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 128), on: kernel.home).usage
                decodes.append(Double(usage.completionTokens - 1) / ((usage.totalMs - usage.timeToFirstTokenMs) / 1000))
            }
            return (roundTrips.median, decodes.median)
        }
    }
}
