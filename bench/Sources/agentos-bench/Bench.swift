import ArgumentParser
import ControlAPI
import Foundation

/// `agentos-bench`: measures the kernel against bare C baselines in the same run
/// and prints one markdown table (and `--results` JSON) in the shape of STYLE.md.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentos-bench",
        abstract: "Benchmark agentosd against bare C baselines measured in the same run."
    )

    @Option(help: "The build directory holding plugins/, fixtures/ and bench/ (from `make examples fixtures baselines`).")
    var buildDir: String

    @Option(help: "The agentosd binary to measure (a release build).")
    var agentosd: String

    @Option(help: "Where to write the rows as JSON.")
    var results = "bench/results.json"

    @Option(help: "Runs per figure; the median is reported.")
    var runs = 3

    @Option(help: "Idle echo instances for the footprint row.")
    var idleInstances = 1000

    @Option(help: "Instances for the scale rows (10,000 agents on one kernel).")
    var scaleInstances = 10_000

    @Option(help: "The directory holding llama.cpp's llama-bench, llama-batched-bench and llama-server.")
    var llamaBin: String

    @Option(help: "The GGUF model for the inference rows.")
    var model: String

    @Option(help: "CPU threads for the kernel's engine and llama.cpp's tools alike.")
    var threads = 2

    @Option(help: "The eval suite for the eval rows (agentctl sits beside --agentosd).")
    var evalSuite = "sdk/examples/evals/support.yaml"

    /// The groups of rows, in the order they run.
    enum Group: String, CaseIterable, ExpressibleByArgument {
        case messaging, sdk, isolation, restore, scale, tools, observability, eval, inference, frontdoor, storage, cluster
    }

    @Option(parsing: .upToNextOption, help: "Run only these groups of rows (\(Group.allCases.map(\.rawValue).joined(separator: ", "))).")
    var only: [Group] = Group.allCases

    func run() async throws {
        try await IdleCheck.warnIfBusy()
        var table = ResultTable()
        let llama = LlamaTools(bin: llamaBin, model: model, threads: threads)
        for group in Group.allCases where only.contains(group) {
            try await run(group, llama: llama, into: &table)
        }
        print(table.markdown)
        try table.writeJSON(to: results)
    }

    private func run(_ group: Group, llama: LlamaTools, into table: inout ResultTable) async throws {
        switch group {
        case .messaging:
            try await BenchKernel.with(agentosd: agentosd, ["--engine", "none"]) { kernel in
                try await messaging(kernel, into: &table)
            }
        case .sdk:
            try await BenchKernel.with(agentosd: agentosd, ["--engine", "none"]) { kernel in
                try await swiftSDK(kernel, into: &table)
            }
        case .isolation:
            try await BenchKernel.with(agentosd: agentosd, ["--engine", "none"]) { kernel in
                try await isolation(kernel, into: &table)
            }
        case .restore:
            try await RestoreBench(agentosd: agentosd, plugins: buildDir + "/plugins", runs: runs).run(into: &table)
        case .scale:
            try await ScaleBench(agentosd: agentosd, plugins: buildDir + "/plugins", instances: scaleInstances).run(into: &table)
        case .tools:
            try await ToolBench(
                plugins: buildDir + "/plugins", baselines: buildDir + "/bench", agentosd: agentosd, model: model,
                threads: threads, runs: runs
            ).run(into: &table)
        case .observability:
            try await ObservabilityBench(agentosd: agentosd, plugins: buildDir + "/plugins", tools: llama, runs: runs).run(into: &table)
        case .eval:
            let agentctl = URL(fileURLWithPath: agentosd).deletingLastPathComponent().appendingPathComponent("agentctl").path
            try await EvalBench(
                agentosd: agentosd, agentctl: agentctl, plugins: buildDir + "/plugins", suite: evalSuite, tools: llama
            ).run(into: &table)
        case .inference:
            try await InferenceBench(agentosd: agentosd, tools: llama, runs: runs).run(into: &table)
        case .frontdoor:
            try await FrontDoorBench(agentosd: agentosd, plugins: buildDir + "/plugins", tools: llama, runs: runs).run(into: &table)
        case .storage:
            try await StorageBench(baselines: buildDir + "/bench", agentosd: agentosd, runs: runs).run(into: &table)
            try await SessionPromptBench(baselines: buildDir + "/bench", runs: runs).run(into: &table)
            try await RunResumeBench(agentosd: agentosd, fixtures: buildDir + "/fixtures", model: model, threads: threads, runs: runs)
                .run(into: &table)
        case .cluster:
            try await ClusterBench(agentosd: agentosd, plugins: buildDir + "/plugins", baselines: buildDir + "/bench", tools: llama, runs: runs)
                .run(into: &table)
        }
    }

    /// The message-passing and footprint rows, on a kernel without an inference engine.
    private func messaging(_ kernel: BenchKernel, into table: inout ResultTable) async throws {
        let plugins = buildDir + "/plugins"
        let baselines = buildDir + "/bench"
        for plugin in ["echo", "counter", "pinger"] {
            let grants = plugin == "pinger" ? ["send:echo", "send:counter"] : nil
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/\(plugin).so", grants: grants))
        }

        // Kernel and baseline interleaved (A B A B …), so drift of the machine lands on both.
        let rounds = max(runs, 5)

        // Request/reply round trip: pinger → echo → pinger, vs a C pthread ping-pong.
        let (roundTrip, pingPong) = try await interleaved(rounds) {
            try await kernel.pinger("ping 100000 echo 16")["mean_ns"]
        } baseline: {
            try await Baseline.run("\(baselines)/pingpong", "100000", "16")["per_op_ns"]
        }
        table.add("request/reply round trip", agentos: roundTrip, baseline: pingPong, unit: .nanoseconds,
                  baselineIs: "C pthread ping-pong, mutex+condvar queues", goal: "≤ 1.3×", lowerIsBetter: true)

        // Async messages per second, one sender → one receiver, vs a C bounded queue.
        let (flood, queue) = try await interleaved(rounds) {
            try await kernel.pinger("flood 2000000 counter 16", timeoutMs: 120_000)["per_second"]
        } baseline: {
            try await Baseline.run("\(baselines)/queue", "2000000", "16", "1024")["per_second"]
        }
        table.add("async messages, 1 sender → 1 receiver", agentos: flood, baseline: queue, unit: .perSecond,
                  baselineIs: "C bounded queue, mutex+condvar", goal: "≥ 0.6× and ≥ 3,000,000/s", lowerIsBetter: false)

        // Four senders → one receiver: four pingers flood counter at once; the wall time of all four.
        let senders = 4
        let perSender = 500_000
        for index in 1..<senders {
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/pinger.so", name: "pinger\(index)", grants: ["send:counter"]))
        }
        let (fanIn, fanInQueue) = try await interleaved(rounds) {
            let started = DispatchTime.now().uptimeNanoseconds
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<senders {
                    group.addTask { _ = try await kernel.pinger("flood \(perSender) counter 16", name: index == 0 ? "pinger" : "pinger\(index)", timeoutMs: 120_000) }
                }
                try await group.waitForAll()
            }
            return Double(senders * perSender) * 1e9 / Double(DispatchTime.now().uptimeNanoseconds - started)
        } baseline: {
            try await Baseline.run("\(baselines)/queue", "\(senders * perSender)", "16", "1024", "\(senders)")["per_second"]
        }
        table.add("async messages, 4 senders → 1 receiver", agentos: fanIn, baseline: fanInQueue, unit: .perSecond,
                  baselineIs: "C bounded queue, 4 producers", goal: "report", lowerIsBetter: false)

        // Load + unload through agentctl's API vs bare dlopen + dlclose.
        let cycles = 50
        let loadUnload = try await median(runs) {
            let started = DispatchTime.now().uptimeNanoseconds
            for index in 0..<cycles {
                _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so", name: "cycle-\(index)"))
                _ = try await kernel.client.unload("cycle-\(index)")
            }
            return Double(DispatchTime.now().uptimeNanoseconds - started) / Double(cycles)
        }
        let dlopen = try await median(runs) { try await Baseline.run("\(baselines)/dlopen", "\(plugins)/echo.so", "200")["mean_ns"] }
        table.add("load + unload (control API)", agentos: loadUnload, baseline: dlopen, unit: .nanoseconds,
                  baselineIs: "dlopen + dlsym + dlclose", goal: "≤ 5 ms", lowerIsBetter: true)

        // Footprint of idle instances.
        let before = try kernel.processStatus()
        for index in 0..<idleInstances {
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/echo.so", name: "idle-\(index)"))
        }
        let after = try kernel.processStatus()
        let perInstance = Double(after.rssBytes - before.rssBytes) / Double(idleInstances)
        table.addReport("RSS, \(idleInstances) idle echo instances", value: "\(after.rssBytes / (1 << 20)) MiB (\(Int(perInstance / 1024)) KiB each)",
                        baseline: "\(before.rssBytes / (1 << 20)) MiB", baselineIs: "the same kernel with 3 instances")
        table.addReport("threads, \(idleInstances) idle echo instances", value: "\(after.threads)",
                        baseline: "\(before.threads)", baselineIs: "the same kernel with 3 instances")
    }

    /// Medians of `agentos` and `baseline`, measured alternately `rounds` times each.
    func interleaved(
        _ rounds: Int, _ agentos: () async throws -> Double?, baseline: () async throws -> Double?
    ) async throws -> (agentos: Double, baseline: Double) {
        var a: [Double] = []
        var b: [Double] = []
        for _ in 0..<rounds {
            guard let first = try await agentos(), let second = try await baseline() else {
                throw BenchError("a run reported no figure")
            }
            a.append(first)
            b.append(second)
        }
        return (a.median, b.median)
    }

    func median(_ runs: Int, _ measure: () async throws -> Double?) async throws -> Double {
        var values: [Double] = []
        for _ in 0..<max(1, runs) {
            guard let value = try await measure() else { throw BenchError("a run reported no figure") }
            values.append(value)
        }
        return values.median
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
