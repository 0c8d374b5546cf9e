import ControlAPI
import ControlClient
import Foundation

/// The durable-state row: a kernel started on a home whose state.sqlite
/// records 100 instances, until all 100 are restored and running, against a
/// kernel started on an empty home until the same 100 are loaded one by one
/// through the control API (what an operator did before durable state).
/// Interleaved, each round on fresh kernels; both sides end at 100 running.
struct RestoreBench {
    let agentosd: String
    let plugins: String
    let runs: Int

    static let instances = 100

    func run(into table: inout ResultTable) async throws {
        let scratch = NSTemporaryDirectory() + "agentos-bench-restore-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let recorded = AgentOSHome(path: scratch + "/recorded")
        // Record the 100 once: load them, then stop gracefully (the records stay).
        _ = try await loadOneByOne(home: recorded)

        var restore: [Double] = [], oneByOne: [Double] = []
        for round in 0..<max(runs, 3) {
            restore.append(try await restoreTime(home: recorded))
            let empty = AgentOSHome(path: scratch + "/empty-\(round)")
            oneByOne.append(try await loadOneByOne(home: empty))
            try? FileManager.default.removeItem(atPath: empty.path)
        }
        table.add("kernel start with \(Self.instances) instances to restore", agentos: restore.median, baseline: oneByOne.median,
                  unit: .nanoseconds,
                  baselineIs: "a kernel started empty, then the same \(Self.instances) loaded one by one through the control API",
                  goal: "report", lowerIsBetter: true)
    }

    /// Nanoseconds from spawning the kernel on `home` until it reports its restore done, with every instance restored.
    private func restoreTime(home: AgentOSHome) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        let kernel = try Subprocess(agentosd, ["--engine", "none", "--no-plugins-dir", "--log-level", "warning"],
                                    environment: ["AGENTOS_HOME": home.path])
        let client = ControlClient(home: home)
        do {
            while true {
                if let restore = try? await client.status().restore, restore.state != "restoring" {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
                    guard restore.restored.count == Self.instances else {
                        throw BenchError("the kernel restored \(restore.restored.count) of \(Self.instances): \(restore)")
                    }
                    await kernel.stop()
                    return elapsed
                }
                guard kernel.isRunning else { throw BenchError("agentosd did not start:\n\(kernel.errorTail)") }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        } catch {
            await kernel.stop()
            throw error
        }
    }

    /// Nanoseconds from spawning a kernel on `home` (empty) until it answers and
    /// has loaded the instances one by one; the kernel is stopped gracefully after.
    private func loadOneByOne(home: AgentOSHome) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        let kernel = try Subprocess(agentosd, ["--engine", "none", "--no-plugins-dir", "--log-level", "warning"],
                                    environment: ["AGENTOS_HOME": home.path])
        let client = ControlClient(home: home)
        while (try? await client.status()) == nil {
            guard kernel.isRunning else { throw BenchError("agentosd did not start:\n\(kernel.errorTail)") }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        do {
            for index in 0..<Self.instances {
                _ = try await client.load(LoadRequest(path: "\(plugins)/echo.so", name: "echo-\(index)"))
            }
        } catch {
            await kernel.stop()
            throw error
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
        await kernel.stop()
        return elapsed
    }
}
