import ControlAPI
import Foundation

/// The process-isolation rows, on one kernel, interleaved with their
/// baselines: pinger's round trip and flood to an echo and a counter in their
/// own agentos-host against the same to thread-mode ones; a crash to the
/// restarted host's answer against a new host's first answer; and the
/// footprint of idle process-mode instances against thread-mode ones.
extension Bench {
    func isolation(_ kernel: BenchKernel, into table: inout ResultTable) async throws {
        let plugins = buildDir + "/plugins"
        let rounds = max(runs, 5)
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so"))
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so", name: "hosted", isolation: "process"))
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/counter.so"))
        _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/counter.so", name: "hosted-counter", isolation: "process"))
        _ = try await kernel.client.load(LoadRequest(
            path: "\(plugins)/pinger.so", grants: ["send:echo", "send:hosted", "send:counter", "send:hosted-counter"]))
        let (process, thread) = try await interleaved(rounds) {
            try await kernel.pinger("ping 20000 hosted 16")["mean_ns"]
        } baseline: {
            try await kernel.pinger("ping 20000 echo 16")["mean_ns"]
        }
        table.add("round trip, process mode vs thread mode", agentos: process, baseline: thread, unit: .nanoseconds,
                  baselineIs: "the same to a thread-mode echo",
                  goal: "≤ 3× and ≤ 25 µs", lowerIsBetter: true)

        let (processFlood, threadFlood) = try await interleaved(rounds) {
            try await kernel.pinger("flood 200000 hosted-counter 16", timeoutMs: 120_000)["per_second"]
        } baseline: {
            try await kernel.pinger("flood 200000 counter 16", timeoutMs: 120_000)["per_second"]
        }
        table.add("async messages, process mode vs thread mode", agentos: processFlood, baseline: threadFlood, unit: .perSecond,
                  baselineIs: "the same flood to a thread-mode counter", goal: "≥ 0.3×", lowerIsBetter: false)

        try await crashToAnswer(kernel, rounds: rounds, into: &table)
        try await idleHosts(kernel, into: &table)
    }

    /// From sending a message that segfaults the host to the restarted host's
    /// answer to the next one, against loading a process-mode echo and its
    /// first answer (a host started from nothing). Each crash is alone in its
    /// restart period, so no backoff applies.
    private func crashToAnswer(_ kernel: BenchKernel, rounds: Int, into table: inout ResultTable) async throws {
        _ = try await kernel.client.load(LoadRequest(
            path: buildDir + "/fixtures/crasher.so", name: "crashy", isolation: "process", restart: "permanent",
            restartIntensity: 63, restartPeriod: 0.001))
        var index = 0
        let (restart, fresh) = try await interleaved(rounds) {
            let started = DispatchTime.now().uptimeNanoseconds
            _ = try? await kernel.client.send("crashy", SendRequest(text: "segv", wait: true, timeoutMs: 10_000))
            _ = try await kernel.client.send("crashy", SendRequest(text: "back", wait: true, timeoutMs: 10_000))
            return Double(DispatchTime.now().uptimeNanoseconds - started)
        } baseline: {
            index += 1
            let started = DispatchTime.now().uptimeNanoseconds
            _ = try await kernel.client.load(LoadRequest(path: buildDir + "/plugins/echo.so", name: "fresh-\(index)", isolation: "process"))
            _ = try await kernel.client.send("fresh-\(index)", SendRequest(text: "hi", wait: true, timeoutMs: 10_000))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
            _ = try await kernel.client.unload("fresh-\(index)")
            return elapsed
        }
        table.add("crash → restarted instance answering", agentos: restart, baseline: fresh, unit: .nanoseconds,
                  baselineIs: "loading a process-mode echo until its first answer", goal: "≤ 100 ms", lowerIsBetter: true)
    }

    /// Memory and threads of idle process-mode echo instances: each host's
    /// RSS and the kernel's growth, against the same number in thread mode.
    private func idleHosts(_ kernel: BenchKernel, into table: inout ResultTable) async throws {
        let count = 100
        let plugins = buildDir + "/plugins"
        let start = try kernel.processStatus()
        for index in 0..<count {
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so", name: "idle-thread-\(index)"))
        }
        let threaded = try kernel.processStatus()
        for index in 0..<count {
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so", name: "idle-host-\(index)", isolation: "process"))
        }
        let hosted = try kernel.processStatus()
        let pids = try await kernel.client.instances().filter { $0.name.hasPrefix("idle-host-") }.compactMap { $0.host?.pid }
        let hostRSS = pids.map { Self.residentBytes(of: $0) }.reduce(0, +)
        let perHost = hostRSS / max(pids.count, 1)
        let perThread = (threaded.rssBytes - start.rssBytes) / count
        let kernelPerHosted = (hosted.rssBytes - threaded.rssBytes) / count
        table.addReport(
            "RSS per idle process-mode instance (\(count) loaded)",
            value: "\(perHost / 1024) KiB host + \(kernelPerHosted / 1024) KiB kernel",
            baseline: "\(perThread / 1024) KiB", baselineIs: "the kernel's growth per idle thread-mode echo")
        table.addReport(
            "threads per idle process-mode instance (\(count) loaded)",
            value: "1 host process + \(Double(hosted.threads - threaded.threads) / Double(count)) kernel threads",
            baseline: "\(Double(threaded.threads - start.threads) / Double(count))", baselineIs: "kernel threads per idle thread-mode echo")
    }

    private static func residentBytes(of pid: Int) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0) * 1024
    }
}
