import ControlAPI
import Foundation

/// Ten thousand agents on one kernel: memory per idle instance, whether a
/// load slows down as the process table grows, `agentctl ps` over all of
/// them, `/metrics` after they are gone, and unloading them all.
struct ScaleBench {
    let agentosd: String
    let plugins: String
    let instances: Int

    func run(into table: inout ResultTable) async throws {
        try await BenchKernel.with(agentosd: agentosd, ["--engine", "none"]) { kernel in
            let echo = "\(plugins)/echo.so"
            // Every route the rows use, once: the control server keeps series per route, never per name.
            _ = try await kernel.client.load(LoadRequest(path: echo, name: "warm-up"))
            _ = try await kernel.client.instances()
            _ = try await kernel.client.unload("warm-up")
            _ = try await metrics(kernel)
            let metricsBefore = try await metrics(kernel)
            let before = try kernel.processStatus()

            // The 10th and the last loads are timed one by one; the rest go in parallel.
            var early: [Double] = []
            var late: [Double] = []
            for index in 0..<10 { early.append(try await timedLoad(kernel, echo, index)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for index in stride(from: 10 + worker, to: instances - 10, by: 4) {
                            _ = try await kernel.client.load(LoadRequest(path: echo, name: "scale-\(index)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            for index in (instances - 10)..<instances { late.append(try await timedLoad(kernel, echo, index)) }
            let after = try kernel.processStatus()

            let perInstance = Double(after.rssBytes - before.rssBytes) / Double(instances)
            table.addReport("RSS per idle echo instance, \(instances) instances", value: "\(Int(perInstance / 1024)) KiB",
                            baseline: "\(before.rssBytes >> 20) MiB before, \(after.rssBytes >> 20) MiB after, \(after.threads) threads",
                            baselineIs: "goal ≤ 64 KiB")
            table.add("load of the \(instances)th instance", agentos: late.median, baseline: early.median, unit: .nanoseconds,
                      baselineIs: "load of the 10th", goal: "≤ 1.5×", lowerIsBetter: true)

            let agentctl = URL(fileURLWithPath: agentosd).deletingLastPathComponent().appendingPathComponent("agentctl").path
            var listings: [Double] = []
            for _ in 0..<3 {
                let started = DispatchTime.now().uptimeNanoseconds
                _ = try await Subprocess.output(of: agentctl, ["ps"], environment: ["AGENTOS_HOME": kernel.home.path])
                listings.append(Double(DispatchTime.now().uptimeNanoseconds - started))
            }
            table.addReport("agentctl ps, \(instances) instances", value: String(format: "%.2f s", listings.median / 1e9),
                            baseline: "goal ≤ 0.5 s", baselineIs: "")

            let started = DispatchTime.now().uptimeNanoseconds
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for index in stride(from: worker, to: instances, by: 4) { _ = try await kernel.client.unload("scale-\(index)") }
                    }
                }
                try await group.waitForAll()
            }
            let unloadSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            table.addReport("unload of all \(instances) instances", value: String(format: "%.1f s", unloadSeconds),
                            baseline: "", baselineIs: "4 concurrent clients")
            let metricsAfter = try await metrics(kernel)
            table.addReport("/metrics after loading and unloading \(instances) names", value: metricsAfter.description,
                            baseline: metricsBefore.description, baselineIs: "before them (goal: the same series)")
        }
    }

    private func timedLoad(_ kernel: BenchKernel, _ path: String, _ index: Int) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        _ = try await kernel.client.load(LoadRequest(path: path, name: "scale-\(index)"))
        return Double(DispatchTime.now().uptimeNanoseconds - started)
    }

    /// The size of a `/metrics` scrape: its series and its bytes.
    private struct MetricsSize: CustomStringConvertible {
        var series: Int
        var bytes: Int
        var description: String { "\(series) series, \(bytes) bytes" }
    }

    private func metrics(_ kernel: BenchKernel) async throws -> MetricsSize {
        let body = try await kernel.client.raw(.GET, "/metrics").body
        let series = String(decoding: body, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        return MetricsSize(series: series, bytes: body.count)
    }
}
