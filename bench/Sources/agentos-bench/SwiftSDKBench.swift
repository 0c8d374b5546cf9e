import ControlAPI
import Foundation
import StrictJSON

/// The SDK rows: a Swift agent's round trip against C echo's, a Swift tool's
/// call against the same C tool's, and the load time of a Swift plugin, each
/// pair interleaved on one kernel.
extension Bench {
    func swiftSDK(_ kernel: BenchKernel, into table: inout ResultTable) async throws {
        let plugins = buildDir + "/plugins", fixtures = buildDir + "/fixtures", baselines = buildDir + "/bench"
        for (path, grants) in [
            ("\(plugins)/echo.so", [String]()), ("\(fixtures)/swiftecho.so", []), ("\(plugins)/calculator.so", []),
            ("\(fixtures)/swiftcalc.so", []), ("\(plugins)/pinger.so", ["send:echo", "send:swiftecho"]),
            ("\(baselines)/toolbench.so", ["tool:calculator.multiply", "tool:swiftcalc.multiply"]),
        ] {
            _ = try await kernel.client.load(LoadRequest(path: path, grants: grants.isEmpty ? nil : grants))
        }
        let rounds = max(runs, 5)

        let (swiftTrip, cTrip) = try await interleaved(rounds) {
            try await kernel.pinger("ping 100000 swiftecho 16")["mean_ns"]
        } baseline: {
            try await kernel.pinger("ping 100000 echo 16")["mean_ns"]
        }
        table.add("round trip to a Swift agent (AgentOSKit)", agentos: swiftTrip, baseline: cTrip, unit: .nanoseconds,
                  baselineIs: "the same to C echo", goal: "≤ 1.2×", lowerIsBetter: true)

        let (swiftTool, cTool) = try await interleaved(rounds) {
            try await toolCall(kernel, "swiftcalc.multiply")
        } baseline: {
            try await toolCall(kernel, "calculator.multiply")
        }
        table.add("tool_call of a Swift tool, double(double, double)", agentos: swiftTool, baseline: cTool, unit: .nanoseconds,
                  baselineIs: "the same call of C calculator.multiply", goal: "≤ baseline + 1 µs", lowerIsBetter: true,
                  showsDifference: true)

        let (swiftLoad, cLoad) = try await interleaved(rounds) {
            try await loadUnload(kernel, "\(fixtures)/swiftecho.so")
        } baseline: {
            try await loadUnload(kernel, "\(plugins)/echo.so")
        }
        table.add("load + unload of a Swift agent", agentos: swiftLoad, baseline: cLoad, unit: .nanoseconds,
                  baselineIs: "the same of C echo", goal: "report", lowerIsBetter: true)
    }

    /// Mean ns of a tool_call syscall from the toolbench agent.
    private func toolCall(_ kernel: BenchKernel, _ tool: String) async throws -> Double {
        let reply = try await kernel.client.send(
            "toolbench", SendRequest(text: "200000 \(tool) {\"a\": 12.5, \"b\": 4}", wait: true, timeoutMs: 120_000)).reply ?? ""
        let figures = try JSONParser.parse(reply)
        guard figures["errors"] == .integer(0), case .number(let mean)? = figures["mean_ns"] else { throw BenchError("toolbench answered \(reply)") }
        return mean
    }

    /// Mean ns of 20 loads and unloads of `path` under fresh names (each load of
    /// the Swift plugin maps a new copy: its libraries are never unmapped).
    private func loadUnload(_ kernel: BenchKernel, _ path: String) async throws -> Double {
        let cycles = 20
        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<cycles {
            let name = "load-\(index)"
            _ = try await kernel.client.load(LoadRequest(path: path, name: name))
            _ = try await kernel.client.unload(name)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - started) / Double(cycles)
    }
}
