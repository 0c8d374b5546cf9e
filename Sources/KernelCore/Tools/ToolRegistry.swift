import Glibc
import Metrics
import Synchronization
import Tools

/// The tools of the running tool plugins, by full name ("catalog.lookup_product").
///
/// A plugin's tools are registered once its `init` returned AOS_OK and
/// removed when its unload begins. Thread-safe.
final class ToolRegistry: Sendable {
    /// One callable tool.
    struct Entry: @unchecked Sendable {
        /// "INSTANCE.TOOL".
        let name: String
        /// Its place in its descriptor's table.
        let index: Int
        let tool: Tool
        let instance: Instance
        let stats: ToolStats
    }

    private let entries = Mutex<[String: Entry]>([:])

    func register(_ instance: Instance) {
        let added = instance.tools.enumerated().map { index, tool in
            let name = "\(instance.name).\(tool.name)"
            return Entry(name: name, index: index, tool: tool, instance: instance, stats: ToolStats(tool: name, series: instance.metrics.series))
        }
        entries.withLock { entries in
            for entry in added { entries[entry.name] = entry }
        }
    }

    func unregister(_ instance: Instance) {
        entries.withLock { entries in
            entries = entries.filter { $0.value.instance !== instance }
        }
    }

    func lookup(_ name: String) -> Entry? { entries.withLock { $0[name] } }

    /// The tools whose names match any of `patterns` (globs: `*`, `?`, `[…]`), in
    /// load order and each plugin's in its descriptor's order (the order its author chose).
    func matching(_ patterns: [String]) -> [Entry] {
        let all = entries.withLock { Array($0.values) }
        return all.filter { entry in patterns.contains { fnmatch($0, entry.name, 0) == 0 } }
            .sorted { ($0.instance.id, $0.index) < ($1.instance.id, $1.index) }
    }
}

/// Counters of one tool since it was registered, and its metrics.
final class ToolStats: Sendable {
    let calls = Atomic<UInt64>(0)
    let failures = Atomic<UInt64>(0)
    let totalNanos = Atomic<UInt64>(0)
    private let tool: String
    /// The series of the tool's plugin instance, dropped with it.
    private let series: MetricSeries
    private let succeeded: Counter
    private let duration: Timer

    init(tool: String, series: MetricSeries) {
        self.tool = tool
        self.series = series
        succeeded = series.counter(MetricName.toolCalls, [("tool", tool), ("status", "ok")])
        duration = series.timer(MetricName.toolDuration, [("tool", tool)])
    }

    /// Records a call that ran: ok, or failed with `error`.
    func record(nanos: UInt64, error: KernelError?) {
        calls.add(1, ordering: .relaxed)
        totalNanos.add(nanos, ordering: .relaxed)
        duration.recordNanoseconds(Int64(clamping: nanos))
        if let error {
            failures.add(1, ordering: .relaxed)
            series.counter(MetricName.toolCalls, [("tool", tool), ("status", error.code.rawValue)]).increment()
        } else {
            succeeded.increment()
        }
    }

    /// Counts a call refused before it ran (unknown arguments, a full queue, …).
    func refused(_ error: KernelError) {
        series.counter(MetricName.toolCalls, [("tool", tool), ("status", error.code.rawValue)]).increment()
    }
}
