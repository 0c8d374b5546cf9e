import ControlAPI
import Foundation

/// The storage rows: `kv_put` and `kv_get` timed inside an agent (kvbench.so)
/// against the same transaction and SELECT through SQLite's C API (kvsqlite),
/// interleaved; and puts per second of 8 agents writing at once against one.
struct StorageBench {
    /// build/bench (kvbench.so, kvsqlite).
    let baselines: String
    let agentosd: String
    let runs: Int

    static let puts = 20_000
    static let valueBytes = 100

    func run(into table: inout ResultTable) async throws {
        let rounds = max(runs, 5)
        let scratch = NSTemporaryDirectory() + "agentos-bench-kv-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let (put, get, sqlitePut, sqliteGet, one, eight) = try await BenchKernel.with(agentosd: agentosd, ["--engine", "none"]) { kernel in
            var put: [Double] = [], get: [Double] = [], sqlitePut: [Double] = [], sqliteGet: [Double] = []
            for round in 0..<rounds {
                // A fresh namespace (instance) and a fresh file each round: both sides insert.
                let name = "kvbench-\(round)"
                _ = try await kernel.client.load(LoadRequest(path: "\(baselines)/kvbench.so", name: name, grants: ["kv"]))
                put.append(try await Self.mean(kernel, name, "put \(Self.puts) \(Self.valueBytes)"))
                get.append(try await Self.mean(kernel, name, "get \(Self.puts)"))
                _ = try await kernel.client.unload(name)
                let file = "\(scratch)/round-\(round).sqlite"
                let sqlite = try await Baseline.run("\(baselines)/kvsqlite", file, "\(Self.puts)", "\(Self.valueBytes)")
                guard let putNanos = sqlite["put_ns"], let getNanos = sqlite["get_ns"] else { throw BenchError("kvsqlite printed no figures") }
                sqlitePut.append(putNanos)
                sqliteGet.append(getNanos)
            }
            let (one, eight) = try await Self.concurrentWriters(kernel, baselines: baselines, rounds: rounds)
            return (put.median, get.median, sqlitePut.median, sqliteGet.median, one, eight)
        }
        table.add("kv_put syscall, \(Self.valueBytes) B value", agentos: put, baseline: sqlitePut, unit: .nanoseconds,
                  baselineIs: "the same transaction through SQLite's C API", goal: "≤ 1.5×", lowerIsBetter: true)
        table.add("kv_get syscall, \(Self.valueBytes) B value", agentos: get, baseline: sqliteGet, unit: .nanoseconds,
                  baselineIs: "the same SELECT through SQLite's C API", goal: "≤ 1.5×", lowerIsBetter: true)
        table.add("kv_put, 8 agents writing at once", agentos: eight, baseline: one, unit: .perSecond,
                  baselineIs: "one agent writing alone", goal: "report", lowerIsBetter: false)
    }

    /// Puts per second of one agent alone and of 8 agents at once (each in its
    /// own namespace, all through the one writer), medians of `rounds`.
    private static func concurrentWriters(_ kernel: BenchKernel, baselines: String, rounds: Int) async throws -> (one: Double, eight: Double) {
        let writers = 8
        let perWriter = puts / writers
        var one: [Double] = [], eight: [Double] = []
        for round in 0..<rounds {
            // Every writer in a fresh namespace: all of them insert.
            let solo = "kvw-\(round)-solo"
            let names = (0..<writers).map { "kvw-\(round)-\($0)" }
            for name in [solo] + names {
                _ = try await kernel.client.load(LoadRequest(path: "\(baselines)/kvbench.so", name: name, grants: ["kv"]))
            }
            one.append(1e9 / (try await mean(kernel, solo, "put \(perWriter) \(valueBytes)")))
            let started = DispatchTime.now().uptimeNanoseconds
            try await withThrowingTaskGroup(of: Double.self) { group in
                for name in names {
                    group.addTask { try await mean(kernel, name, "put \(perWriter) \(valueBytes)") }
                }
                try await group.waitForAll()
            }
            eight.append(Double(writers * perWriter) * 1e9 / Double(DispatchTime.now().uptimeNanoseconds - started))
            for name in [solo] + names { _ = try await kernel.client.unload(name) }
        }
        return (one.median, eight.median)
    }

    /// Sends `command` to the kvbench instance `name`; its mean ns per call (no call may fail).
    private static func mean(_ kernel: BenchKernel, _ name: String, _ command: String) async throws -> Double {
        let reply = try await kernel.client.send(name, SendRequest(text: command, wait: true, timeoutMs: 300_000)).reply ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any],
            (object["errors"] as? NSNumber)?.intValue == 0, let mean = (object["mean_ns"] as? NSNumber)?.doubleValue
        else {
            throw BenchError("kvbench answered \(reply)")
        }
        return mean
    }
}
