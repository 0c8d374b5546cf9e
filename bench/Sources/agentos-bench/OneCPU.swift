import Foundation

/// Runs a measurement with every thread of this process on one CPU.
///
/// Two figures taken in turns on a shared 2-core VM differ by more than a few
/// tens of nanoseconds just by which core each thread lands on; on one core
/// they meet the same cache and the same neighbours. Uses util-linux's
/// `taskset --all-tasks` (threads started meanwhile inherit the CPU from the
/// thread that starts them), and gives every thread the CPUs it had before.
enum OneCPU {
    static let taskset = "/usr/bin/taskset"

    static func run<T>(_ measure: () async throws -> T) async throws -> T {
        guard FileManager.default.isExecutableFile(atPath: taskset) else {
            throw BenchError("\(taskset) not found: apt-get install util-linux (it pins the check benchmark to one CPU)")
        }
        let pid = "\(getpid())"
        // "pid 123's current affinity list: 0,1" (or "0-3").
        let listed = String(decoding: try await Subprocess.output(of: taskset, ["--cpu-list", "--pid", pid]), as: UTF8.self)
        guard let cpus = listed.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines),
              let last = cpus.split(whereSeparator: { $0 == "," || $0 == "-" }).last
        else { throw BenchError("taskset printed no CPU list: \(listed)") }
        _ = try await Subprocess.output(of: taskset, ["--all-tasks", "--cpu-list", "--pid", String(last), pid])
        do {
            let value = try await measure()
            _ = try await Subprocess.output(of: taskset, ["--all-tasks", "--cpu-list", "--pid", cpus, pid])
            return value
        } catch {
            _ = try? await Subprocess.output(of: taskset, ["--all-tasks", "--cpu-list", "--pid", cpus, pid])
            throw error
        }
    }
}
