import Glibc
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
            Entry(name: "\(instance.name).\(tool.name)", index: index, tool: tool, instance: instance, stats: ToolStats())
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

/// Counters of one tool since it was registered.
final class ToolStats: Sendable {
    let calls = Atomic<UInt64>(0)
    let failures = Atomic<UInt64>(0)
    let totalNanos = Atomic<UInt64>(0)

    func record(nanos: UInt64, failed: Bool) {
        calls.add(1, ordering: .relaxed)
        if failed { failures.add(1, ordering: .relaxed) }
        totalNanos.add(nanos, ordering: .relaxed)
    }
}
