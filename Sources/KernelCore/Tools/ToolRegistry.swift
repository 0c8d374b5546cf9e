import Glibc
import Metrics
import Synchronization
import Tools

/// The tools of the running tool plugins, by full name ("catalog.lookup_product"),
/// and those of external providers (`ExternalToolProvider`: an MCP server's).
///
/// A plugin's tools are registered once its `init` returned AOS_OK and
/// removed when its unload begins; a provider's while it is connected. Thread-safe.
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

    /// One tool of an external provider.
    struct ExternalEntry: Sendable {
        /// "PREFIX.TOOL".
        let name: String
        let prefix: String
        /// Its place in its provider's list.
        let index: Int
        let tool: ExternalTool
        let provider: any ExternalToolProvider
        /// The provider's metric series, shared by its tools.
        let series: MetricSeries
        let stats: ToolStats
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let externals = Mutex<[String: ExternalEntry]>([:])

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

    /// Replaces the tools under `prefix` with `tools` of `provider`. Their counters start
    /// anew; their metric series (agent label `mcp:PREFIX`) carry on until `unregisterExternal`.
    func registerExternal(prefix: String, tools: [ExternalTool], provider: any ExternalToolProvider) {
        externals.withLock { externals in
            let series = externals.values.first { $0.prefix == prefix }?.series ?? MetricSeries(agent: "mcp:\(prefix)")
            externals = externals.filter { $0.value.prefix != prefix }
            for (index, tool) in tools.enumerated() {
                let name = "\(prefix).\(tool.name)"
                externals[name] = ExternalEntry(
                    name: name, prefix: prefix, index: index, tool: tool, provider: provider, series: series,
                    stats: ToolStats(tool: name, series: series))
            }
        }
    }

    /// Removes the tools under `prefix` and their metric series.
    func unregisterExternal(prefix: String) {
        let series = externals.withLock { externals in
            defer { externals = externals.filter { $0.value.prefix != prefix } }
            return externals.values.first { $0.prefix == prefix }?.series
        }
        series?.destroy()
    }

    func lookupExternal(_ name: String) -> ExternalEntry? { externals.withLock { $0[name] } }

    /// The providers' tools matching any of `patterns`, by prefix and then in each provider's order.
    func matchingExternal(_ patterns: [String]) -> [ExternalEntry] {
        let all = externals.withLock { Array($0.values) }
        return all.filter { entry in patterns.contains { fnmatch($0, entry.name, 0) == 0 } }
            .sorted { ($0.prefix, $0.index) < ($1.prefix, $1.index) }
    }

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
