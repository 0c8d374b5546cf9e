import CoreMetrics
import Synchronization

/// Every metric series labelled with one agent, made through here so that all
/// of them can be dropped together when the agent is unloaded: `/metrics` then
/// holds only the agents that run, and a load costs the same after 10,000
/// names as after 10. Handles are made once and reused. Thread-safe.
final class MetricSeries: Sendable {
    /// The agent's name, the `agent` label of its series.
    let agent: String
    private let handles = Mutex<Handles>(Handles())

    private struct Handles {
        var counters: [String: Counter] = [:]
        var timers: [String: Timer] = [:]
        var destroyed = false
    }

    init(agent: String) {
        self.agent = agent
    }

    /// The counter `label` with `dimensions` (the agent's own label is not added for you).
    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = Self.key(label, dimensions)
        return handles.withLock { handles in
            if let counter = handles.counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions)
            if !handles.destroyed { handles.counters[key] = counter }
            return counter
        }
    }

    /// The timer `label` with `dimensions`.
    func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        let key = Self.key(label, dimensions)
        return handles.withLock { handles in
            if let timer = handles.timers[key] { return timer }
            let timer = Timer(label: label, dimensions: dimensions)
            if !handles.destroyed { handles.timers[key] = timer }
            return timer
        }
    }

    /// Removes every series made through here from the metrics system.
    /// Later increments (a zombie's thread) go to handles nobody exports.
    func destroy() {
        let (counters, timers) = handles.withLock { handles in
            handles.destroyed = true
            defer { handles.counters = [:]; handles.timers = [:] }
            return (Array(handles.counters.values), Array(handles.timers.values))
        }
        for counter in counters { counter.destroy() }
        for timer in timers { timer.destroy() }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(label) { $0 + "\u{1}" + $1.0 + "=" + $1.1 }
    }
}

/// The series of the agents that run, by name, so that code that knows only
/// an agent's name (the scheduler) records into its series. Thread-safe.
enum MetricSeriesDirectory {
    private static let byAgent = Mutex<[String: MetricSeries]>([:])

    static func register(_ series: MetricSeries) {
        byAgent.withLock { $0[series.agent] = series }
    }

    static func remove(_ series: MetricSeries) {
        byAgent.withLock { if $0[series.agent] === series { $0[series.agent] = nil } }
    }

    /// The series of the running agent `name`; nil once it is gone (what it
    /// would record then is dropped, so no series outlives its agent).
    static func series(of name: String) -> MetricSeries? {
        byAgent.withLock { $0[name] }
    }
}
