import CAgentOS
import ControlAPI
import Foundation
import KernelCore
import KernelPOSIX
import Logging
import StrictJSON

/// The tool rows: what libffi costs, a tool call through the kernel against
/// the same C function called directly with the same JSON work, the
/// tool_call syscall from an agent, and the support agent's tool-using answer
/// split into model time and kernel time.
struct ToolBench {
    /// build/plugins (calculator, catalog, support) and build/bench (ffi, toolbench.so).
    let plugins: String
    let baselines: String
    let agentosd: String
    let model: String
    let threads: Int
    let runs: Int

    static let arguments = #"{"a": 12.5, "b": 4}"#
    static let calls = 200_000

    func run(into table: inout ResultTable) async throws {
        let ffi = try await Baseline.run("\(baselines)/ffi", "20000000")
        guard let direct = ffi["direct_ns"], let viaFFI = ffi["ffi_ns"] else { throw BenchError("ffi printed no figures") }
        table.add("libffi call, double(double, double)", agentos: viaFFI, baseline: direct, unit: .nanoseconds,
                  baselineIs: "the same call through a C function pointer", goal: "report", lowerIsBetter: true)

        let (inKernel, directWithJSON) = try await inProcess()
        table.add("tool call in the kernel: JSON → libffi → JSON", agentos: inKernel, baseline: directWithJSON, unit: .nanoseconds,
                  baselineIs: "direct call + the same JSON decode/encode", goal: "≤ baseline + 2 µs", lowerIsBetter: true,
                  showsDifference: true)

        let syscall = try await BenchKernel.with(agentosd: agentosd, ["--engine", "none"]) { kernel in
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/calculator.so"))
            _ = try await kernel.client.load(LoadRequest(path: "\(baselines)/toolbench.so", grants: ["tool:calculator.add"]))
            return try await median {
                let reply = try await kernel.client.send("toolbench", SendRequest(text: "\(Self.calls) calculator.add \(Self.arguments)", wait: true, timeoutMs: 120_000)).reply ?? ""
                let figures = try JSONParser.parse(reply)
                guard figures["errors"] == .integer(0), case .number(let mean)? = figures["mean_ns"] else { throw BenchError("toolbench answered \(reply)") }
                return mean
            }
        }
        table.add("tool_call syscall from an agent", agentos: syscall, baseline: directWithJSON, unit: .nanoseconds,
                  baselineIs: "direct call + the same JSON decode/encode", goal: "≤ baseline + 2 µs", lowerIsBetter: true,
                  showsDifference: true)

        let (checked, bypassed) = try await policyChecks()
        table.add("capability + quota checks, per tool_call syscall", agentos: checked, baseline: bypassed, unit: .nanoseconds,
                  baselineIs: "the same syscall with the checks bypassed", goal: "≤ baseline + 100 ns", lowerIsBetter: true,
                  showsDifference: true)

        let (total, model) = try await supportAnswer()
        table.add("support answer with tools, end to end", agentos: total, baseline: model, unit: .nanoseconds,
                  baselineIs: "its model time (the rest is the kernel's)", goal: "report", lowerIsBetter: true)

        let (cached, cold) = try await supportAnswerWithAndWithoutPrefixCache()
        table.add("support answer with tools, prefix cache on", agentos: cached, baseline: cold, unit: .nanoseconds,
                  baselineIs: "the same questions, --no-prefix-cache", goal: "≤ 0.4×", lowerIsBetter: true)
    }

    /// calculator.add through `Kernel.callTool` in this process, and the same
    /// function called through its pointer after the same JSON parse, with the
    /// result written the same way: ns per call, medians of `runs`.
    private func inProcess() async throws -> (kernel: Double, direct: Double) {
        let copies = NSTemporaryDirectory() + "agentos-bench-tools-\(getpid())"
        let loader = PluginLoader(copiesDirectory: copies)
        try loader.prepare()
        let kernel = Kernel(configuration: KernelConfiguration(pluginCopiesPath: copies), loader: loader, threads: POSIXThreads(), logger: Logger(label: "bench"))
        _ = try await kernel.lifecycle.load(path: "\(plugins)/calculator.so")
        defer { Task { await kernel.lifecycle.shutdown(timeout: 5) } }

        guard let handle = dlopen("\(plugins)/calculator.so", RTLD_NOW | RTLD_LOCAL) else { throw BenchError("cannot dlopen calculator.so") }
        defer { dlclose(handle) }
        let descriptor = dlsym(handle, AOS_PLUGIN_SYMBOL)!.assumingMemoryBound(to: aos_plugin_descriptor.self)
        let table = UnsafeBufferPointer(start: descriptor.pointee.tools, count: Int(descriptor.pointee.n_tools))
        guard let entry = table.first(where: { String(cString: $0.name) == "add" }), let function = entry.fn else {
            throw BenchError("calculator.so has no add tool")
        }
        let add = unsafeBitCast(function, to: (@convention(c) (Double, Double) -> Double).self)

        let kernelNanos = try await median {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<Self.calls {
                guard case .success = kernel.tools.callTool("calculator.add", arguments: Self.arguments, deadline: nil).outcome else {
                    throw BenchError("calculator.add failed")
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(Self.calls)
        }
        let directNanos = try await median {
            let start = DispatchTime.now().uptimeNanoseconds
            var written = 0
            for _ in 0..<Self.calls {
                let arguments = try JSONParser.parse(Self.arguments)
                guard case .number(let a)? = arguments["a"], case .integer(let b)? = arguments["b"] else { throw BenchError("bad arguments") }
                written += JSONValue.numberText(add(a, Double(b))).utf8.count
            }
            guard written > 0 else { throw BenchError("no results") }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(Self.calls)
        }
        return (kernelNanos, directNanos)
    }

    /// The tool_call syscall from toolbench.so, in this process, on a kernel
    /// that checks the agent's capability (tool:calculator.add) and its
    /// tool_calls_per_minute quota on every call and on one that bypasses both.
    ///
    /// The checks cost a few percent of the call, less than the call's own
    /// spread on a shared machine, so: the process runs on one CPU; the two
    /// kernels take turns in short rounds (ABBA order, cancelling drift); and
    /// five fresh pairs of kernels take part, because one pair's memory
    /// layout alone moves the difference by tens of ns. The cost is the
    /// median of all the round pairs' differences: returns the bypassed
    /// median plus that, and the bypassed median, in ns per call.
    private func policyChecks() async throws -> (checked: Double, bypassed: Double) {
        // 41 × 4 000 checked calls per kernel stay under the quota's burst (1M): no call waits.
        let (calls, kernelPairs, roundPairs) = (4_000, 5, 41)
        func kernel(checks: Bool) async throws -> Kernel {
            let copies = NSTemporaryDirectory() + "agentos-bench-checks-\(getpid())-\(checks)"
            let loader = PluginLoader(copiesDirectory: copies)
            try loader.prepare()
            var configuration = KernelConfiguration(pluginCopiesPath: copies)
            configuration.checksPolicy = checks
            let kernel = Kernel(configuration: configuration, loader: loader, threads: POSIXThreads(), logger: Logger(label: "bench"))
            _ = try await kernel.lifecycle.load(path: "\(plugins)/calculator.so")
            _ = try await kernel.lifecycle.load(path: "\(baselines)/toolbench.so", grants: [.tool("calculator.add")])
            _ = try kernel.quotas.set("tool_calls_per_minute", "1M", for: "toolbench")
            return kernel
        }
        func mean(_ kernel: Kernel) async throws -> Double {
            let body = Array("\(calls) calculator.add \(Self.arguments)".utf8)
            let reply = try await kernel.messages.deliver(to: "toolbench", body: body, wait: true, timeoutMs: 120_000).reply ?? []
            let figures = try JSONParser.parse(String(decoding: reply, as: UTF8.self))
            guard figures["errors"] == .integer(0), case .number(let mean)? = figures["mean_ns"] else {
                throw BenchError("toolbench answered \(String(decoding: reply, as: UTF8.self))")
            }
            return mean
        }
        return try await OneCPU.run {
            var differences: [Double] = []
            var bypassed: [Double] = []
            for _ in 0..<kernelPairs {
                let checking = try await kernel(checks: true)
                let bypassing = try await kernel(checks: false)
                _ = try await (mean(checking), mean(bypassing))  // warm both
                for pair in 0..<roundPairs {
                    let (checked, unchecked): (Double, Double)
                    if pair.isMultiple(of: 2) {
                        checked = try await mean(checking)
                        unchecked = try await mean(bypassing)
                    } else {
                        unchecked = try await mean(bypassing)
                        checked = try await mean(checking)
                    }
                    differences.append(checked - unchecked)
                    bypassed.append(unchecked)
                }
                await checking.lifecycle.shutdown(timeout: 5)
                await bypassing.lifecycle.shutdown(timeout: 5)
            }
            return (bypassed.median + differences.median, bypassed.median)
        }
    }

    /// The support agent's question answered through the tool loop (its
    /// prompt, tools and settings, sent through the control API): total time
    /// and the model's part of it, in ns, medians of `runs`.
    private func supportAnswer() async throws -> (total: Double, model: Double) {
        try await BenchKernel.with(agentosd: agentosd, supportKernelArguments) { kernel in
            _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/catalog.so"))
            var totals: [Double] = []
            var models: [Double] = []
            for _ in 0..<max(1, runs) {
                let result = try await askSupport("How much does the A-200 cost?", on: kernel)
                totals.append(result.usage.totalMs * 1e6)
                models.append(result.usage.engineMs * 1e6)
            }
            return (totals.median, models.median)
        }
    }

    /// Support answers from a kernel with the prefix cache (the default) and
    /// one without, interleaved, a different product each round so only what
    /// real questions share is reused (system prompt, tools, the turn before):
    /// ns per answer, medians of `runs`.
    private func supportAnswerWithAndWithoutPrefixCache() async throws -> (cached: Double, cold: Double) {
        let products = ["A-200", "B-300", "C-401", "D-500", "A-100", "C-400", "D-501", "B-301"]
        return try await BenchKernel.with(agentosd: agentosd, supportKernelArguments) { cached in
            try await BenchKernel.with(agentosd: agentosd, supportKernelArguments + ["--no-prefix-cache"]) { cold in
                for kernel in [cached, cold] { _ = try await kernel.client.load(LoadRequest(path: "\(plugins)/catalog.so")) }
                var cachedTimes: [Double] = []
                var coldTimes: [Double] = []
                for round in 0..<max(1, runs) {
                    let question = "How much does the \(products[round % products.count]) cost?"
                    cachedTimes.append(try await askSupport(question, on: cached).usage.totalMs * 1e6)
                    coldTimes.append(try await askSupport(question, on: cold).usage.totalMs * 1e6)
                }
                return (cachedTimes.median, coldTimes.median)
            }
        }
    }

    private var supportKernelArguments: [String] {
        ["--model", model, "--threads", "\(threads)", "--slots", "4", "--ctx", "8192"]
    }

    /// `question` through the tool loop with the support agent's prompt, tools and settings.
    private func askSupport(_ question: String, on kernel: BenchKernel) async throws -> InferResult {
        var request = InferRequest(prompt: question)
        request.system = "You are the customer service agent of an outdoor gear shop. Use the catalog tools to answer; answer in one or two sentences, with prices in USD."
        request.tools = ["catalog.*"]
        request.toolChoice = "required"
        request.maxSteps = 4
        request.maxTokens = 96
        let result = try await HTTPLoad.infer(request, on: kernel.home)
        guard let steps = result.steps, !steps.isEmpty else { throw BenchError("the support question called no tool: \(result.text)") }
        return result
    }

    private func median(_ measure: () async throws -> Double) async throws -> Double {
        var values: [Double] = []
        for _ in 0..<max(1, runs) { values.append(try await measure()) }
        return values.median
    }
}
