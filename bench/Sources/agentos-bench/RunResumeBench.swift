import ControlAPI
import ControlClient
import Foundation

/// The durable-run row: a kernel killed with SIGKILL while a run's tool call
/// runs (the tooltypes fixture's `hang`), started again on the same home,
/// until the resumed run has written its first new step (the interrupted
/// call's "outcome unknown", stored without running it again); against the
/// same kernel, model and options started on an empty home until it answers
/// (its plain start-to-ready time). Interleaved, each round on fresh homes.
struct RunResumeBench {
    let agentosd: String
    /// build/fixtures (tooltypes.so).
    let fixtures: String
    let model: String
    let threads: Int
    let runs: Int

    private var arguments: [String] {
        ["--engine", "llama", "--model", model, "--threads", "\(threads)", "--slots", "1", "--ctx", "4096",
         "--no-plugins-dir", "--log-level", "warning"]
    }

    func run(into table: inout ResultTable) async throws {
        let scratch = NSTemporaryDirectory() + "agentos-bench-resume-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var resumed: [Double] = [], ready: [Double] = []
        for round in 0..<max(runs, 3) {
            let killed = AgentOSHome(path: "\(scratch)/killed-\(round)")
            let id = try await killDuringToolCall(home: killed)
            resumed.append(try await firstStepAfterRestart(home: killed, run: id))
            ready.append(try await plainReady(home: AgentOSHome(path: "\(scratch)/plain-\(round)")))
        }
        table.add("run resumed after kill -9, time to first step", agentos: resumed.median, baseline: ready.median,
                  unit: .nanoseconds, baselineIs: "the same kernel and model started on an empty home, until it answers",
                  goal: "report", lowerIsBetter: true)
    }

    /// Starts a kernel on `home`, has the model call tooltypes.hang and kills the
    /// kernel with SIGKILL once the run's model turn is checkpointed; returns the run's id.
    private func killDuringToolCall(home: AgentOSHome) async throws -> UInt64 {
        let kernel = try Subprocess(agentosd, arguments, environment: ["AGENTOS_HOME": home.path])
        let client = ControlClient(home: home)
        do {
            try await Self.waitUntilAnswering(kernel, client)
            _ = try await client.load(LoadRequest(path: "\(fixtures)/tooltypes.so"))
            var request = InferRequest(prompt: "Call the hang tool.")
            request.tools = ["tooltypes.hang"]
            request.toolChoice = "required"
            let asking = Task { try? await client.infer(request) }
            defer { asking.cancel() }
            let started = DispatchTime.now().uptimeNanoseconds
            while DispatchTime.now().uptimeNanoseconds - started < 120_000_000_000 {
                if let run = try? await client.runs().first, run.steps >= 1 {
                    kill(kernel.pid, SIGKILL)
                    _ = await kernel.exitStatus()
                    return run.id
                }
                try await Task.sleep(nanoseconds: 5_000_000)
            }
            throw BenchError("the model did not call tooltypes.hang within 120 s")
        } catch {
            await kernel.stop()
            throw error
        }
    }

    /// Nanoseconds from spawning the kernel on `home` until run `id` has a step past the one stored before the kill.
    private func firstStepAfterRestart(home: AgentOSHome, run id: UInt64) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        let kernel = try Subprocess(agentosd, arguments, environment: ["AGENTOS_HOME": home.path])
        let client = ControlClient(home: home)
        do {
            while true {
                if let detail = try? await client.run(id: "\(id)"), detail.steps.count >= 2 {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
                    await kernel.stop()
                    return elapsed
                }
                guard kernel.isRunning else { throw BenchError("agentosd did not start:\n\(kernel.errorTail)") }
                guard DispatchTime.now().uptimeNanoseconds - started < 120_000_000_000 else {
                    throw BenchError("run \(id) was not resumed within 120 s")
                }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        } catch {
            await kernel.stop()
            throw error
        }
    }

    /// Nanoseconds from spawning the kernel on the empty `home` until it answers.
    private func plainReady(home: AgentOSHome) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        let kernel = try Subprocess(agentosd, arguments, environment: ["AGENTOS_HOME": home.path])
        do {
            try await Self.waitUntilAnswering(kernel, ControlClient(home: home))
        } catch {
            await kernel.stop()
            throw error
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
        await kernel.stop()
        return elapsed
    }

    private static func waitUntilAnswering(_ kernel: Subprocess, _ client: ControlClient) async throws {
        while (try? await client.status()) == nil {
            guard kernel.isRunning else { throw BenchError("agentosd did not start:\n\(kernel.errorTail)") }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
    }
}
