import Foundation

/// Warns when other processes keep the CPUs busy: every figure here assumes
/// the benchmark has the machine to itself, and llama.cpp's threads slow down
/// many times over when another process takes one of their cores.
enum IdleCheck {
    /// Samples /proc/stat over `seconds` while the bench itself is idle.
    static func warnIfBusy(seconds: Double = 1) async throws {
        guard let before = cpuTimes() else { return }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        guard let after = cpuTimes(), after.total > before.total else { return }
        let busy = 1 - Double(after.idle - before.idle) / Double(after.total - before.total)
        if busy > 0.2 {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            Prompts.warn(String(format: "other processes use %.0f%% of the %d CPUs; the figures will be off (see `top`)", busy * 100, cores))
        }
    }

    /// All CPUs' jiffies, and the idle ones (idle + iowait), from the first line of /proc/stat.
    private static func cpuTimes() -> (total: UInt64, idle: UInt64)? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 5 else { return nil }
        return (fields.reduce(0, +), fields[3] + fields[4])
    }
}
