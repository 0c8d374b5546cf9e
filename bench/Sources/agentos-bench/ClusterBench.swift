import ControlAPI
import Foundation
import Glibc

/// The cluster rows: two kernels on one nats-server (a free loopback port),
/// pinger on one and echo and counter on the other, against bare libnats
/// between two connections through the same server (`natsbench`); then
/// shared inference: a model-less kernel (`--engine cluster:smol`) against
/// the serving kernel's own local decode rate.
struct ClusterBench {
    let agentosd: String
    let plugins: String
    let baselines: String
    let tools: LlamaTools
    let runs: Int

    func run(into table: inout ResultTable) async throws {
        let port = Self.freePort()
        let url = "nats://127.0.0.1:\(port)"
        // Debian installs it in /usr/sbin (`make nats`).
        guard let natsServer = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].first(where: FileManager.default.isExecutableFile) else {
            throw BenchError("nats-server is not installed: run `make nats`")
        }
        let server = try Subprocess(natsServer, ["-a", "127.0.0.1", "-p", "\(port)"])
        defer { Task { await server.stop() } }
        try await Task.sleep(nanoseconds: 500_000_000)
        try await BenchKernel.with(agentosd: agentosd, ["--engine", "none", "--cluster", url, "--node", "b"]) { b in
            _ = try await b.client.load(LoadRequest(path: "\(plugins)/echo.so"))
            _ = try await b.client.load(LoadRequest(path: "\(plugins)/counter.so"))
            try await BenchKernel.with(agentosd: agentosd, ["--engine", "none", "--cluster", url, "--node", "a"]) { a in
                _ = try await a.client.load(LoadRequest(path: "\(plugins)/pinger.so", grants: ["send:echo@b", "send:counter@b"]))
                for _ in 0..<200 {
                    if try await a.client.cluster().nodes.contains(where: { $0.name == "b" && $0.agents.contains("counter") }) { break }
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
                try await measure(a, url: url, into: &table)
            }
        }
        try await measureSharedInference(url: url, into: &table)
    }

    /// Tokens/s of one agent's 128-token answer end to end, from the model-less kernel
    /// and locally on the serving kernel, interleaved (A B A B …), medians.
    private func measureSharedInference(url: String, into table: inout ResultTable) async throws {
        let serving = ["--model", tools.model, "--threads", "\(tools.threads)", "--slots", "4", "--ctx", "8192",
                       "--cluster", url, "--node", "gpu", "--serve-engine", "smol"]
        try await BenchKernel.with(agentosd: agentosd, serving) { server in
            try await BenchKernel.with(agentosd: agentosd, ["--cluster", url, "--node", "edge", "--engine", "cluster:smol"]) { caller in
                for _ in 0..<200 {
                    if try await caller.client.cluster().nodes.contains(where: { $0.name == "gpu" }) { break }
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
                func decode(_ kernel: BenchKernel) async throws -> Double {
                    let usage = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 128), on: kernel.home).usage
                    // End to end (queue, prefill, decode, the link): the time to first token is read on
                    // the calling kernel, so decode-only rates would skew with the first chunk's delay.
                    return Double(usage.completionTokens) / (usage.totalMs / 1000)
                }
                _ = try await decode(caller)  // warm: the serving kernel's prefix cache and the link
                var remote: [Double] = [], local: [Double] = []
                for _ in 0..<max(runs, 5) {
                    remote.append(try await decode(caller))
                    local.append(try await decode(server))
                }
                table.add("shared inference, tokens/s from a model-less kernel", agentos: remote.median, baseline: local.median,
                          unit: .tokensPerSecond, baselineIs: "the same request local on the serving kernel", goal: "≥ 0.9×", lowerIsBetter: false)
            }
        }
    }

    private func measure(_ a: BenchKernel, url: String, into table: inout ResultTable) async throws {
        let rounds = max(runs, 5)
        var kernel: [Double] = [], bare: [Double] = []
        for _ in 0..<rounds {
            kernel.append(try await a.pinger("ping 5000 echo@b 16")["mean_ns"] ?? .nan)
            bare.append(try await Baseline.run("\(baselines)/natsbench", "reqrep", url, "5000", "16")["per_op_ns"] ?? .nan)
        }
        table.add("cross-node round trip (call echo@NODE)", agentos: kernel.median, baseline: bare.median, unit: .nanoseconds,
                  baselineIs: "bare libnats request/reply, same nats-server", goal: "≤ 1.5×", lowerIsBetter: true)

        kernel = []
        bare = []
        for _ in 0..<rounds {
            kernel.append(try await a.pinger("flood 100000 counter@b 16", timeoutMs: 120_000)["per_second"] ?? .nan)
            bare.append(try await Baseline.run("\(baselines)/natsbench", "pubsub", url, "100000", "16")["per_second"] ?? .nan)
        }
        table.add("cross-node async messages, 1 pair", agentos: kernel.median, baseline: bare.median, unit: .perSecond,
                  baselineIs: "bare libnats publish/subscribe, same nats-server", goal: "≥ 0.5×", lowerIsBetter: false)
    }

    /// A loopback port nothing listens on now.
    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
