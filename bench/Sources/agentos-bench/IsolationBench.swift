import ControlAPI
import Foundation

/// The process-isolation rows: pinger's request/reply round trip to an echo
/// in its own agentos-host against the same to a thread-mode echo, on one
/// kernel, interleaved.
extension Bench {
    func isolation(_ kernel: BenchKernel, into table: inout ResultTable) async throws {
        let plugins = buildDir + "/plugins"
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so"))
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so", name: "hosted", isolation: "process"))
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/pinger.so", grants: ["send:echo", "send:hosted"]))
        let (process, thread) = try await interleaved(max(runs, 5)) {
            try await kernel.pinger("ping 20000 hosted 16")["mean_ns"]
        } baseline: {
            try await kernel.pinger("ping 20000 echo 16")["mean_ns"]
        }
        table.add("round trip, process mode vs thread mode", agentos: process, baseline: thread, unit: .nanoseconds,
                  baselineIs: "the same to a thread-mode echo (Unix socket pair; the shared-memory ring is next)",
                  goal: "≤ 3× and ≤ 25 µs", lowerIsBetter: true)
    }
}
