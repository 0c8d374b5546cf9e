import Foundation
import Glibc

/// The standard `process_*` metrics of this process, read from /proc.
struct ProcessMetrics {
    var residentBytes: Double = 0
    var virtualBytes: Double = 0
    var cpuSeconds: Double = 0
    var startTimeSeconds: Double = 0
    var openFileDescriptors: Double = 0
    var maxFileDescriptors: Double = 0
    var threads: Double = 0

    /// A reading now; fields that cannot be read stay 0.
    static func read() -> ProcessMetrics {
        var metrics = ProcessMetrics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        // /proc/self/stat: the fields after the command name, which is in parentheses and may hold spaces.
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ").map { Double($0) ?? 0 }
            // fields[0] is field 3 (state): utime 14, stime 15, num_threads 20, starttime 22, vsize 23, rss 24.
            if fields.count > 22 {
                metrics.cpuSeconds = (fields[11] + fields[12]) / ticks
                metrics.threads = fields[17]
                metrics.virtualBytes = fields[20]
                metrics.residentBytes = fields[21] * pageSize
                metrics.startTimeSeconds = bootTime() + fields[19] / ticks
            }
        }
        metrics.openFileDescriptors = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { metrics.maxFileDescriptors = Double(limit.rlim_cur) }
        return metrics
    }

    /// Seconds since the epoch at boot, from /proc/stat's btime.
    private static func bootTime() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }) else { return 0 }
        return Double(line.dropFirst(6)) ?? 0
    }
}
