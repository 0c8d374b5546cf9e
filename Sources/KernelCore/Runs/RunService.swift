import Logging
import Metrics
import Synchronization

/// Durable runs: every tool loop is a run whose request and steps are
/// checkpointed in the state database (`RunStore`) before its next step
/// begins, so a kernel that stops during it resumes it at its next start
/// (`InferenceService.resumeRuns`), and `agentctl runs` reads them.
///
/// Owns the store and the retention setting. A checkpoint that cannot be
/// written is logged and the run goes on in memory: durability is lost for
/// it, never the answer. Once `suspend` is called (the kernel is stopping)
/// nothing more is written, so the runs the stop cancels stay `running` in
/// the record and are resumed at the next start. Without a store, runs are
/// not kept and the control API's calls fail with `.storageUnavailable`.
/// Thread-safe: `suspended` is its only mutable state.
public final class RunService: Sendable {
    let store: RunStore?
    /// Why there is no store, for the error a call gets.
    let absence: String
    public let retention: RunRetention
    private let suspended = Atomic<Bool>(false)
    private let logger = Logger(label: "agentos.runs")

    /// A service over `store`; nil means runs are not kept, for `reason`.
    public init(
        store: RunStore?, reason: String = "the kernel was started without a state database", retention: RunRetention = RunRetention()
    ) {
        self.store = store
        absence = reason
        self.retention = retention
    }

    // MARK: The control API

    /// Runs of `agent`, or of every agent, newest first. Throws `.storageUnavailable`.
    public func list(agent: String? = nil) throws(KernelError) -> [RunInfo] {
        try access { store throws(RunStoreError) in try store.runs(agent: agent) }
    }

    /// Everything stored of run `id`. Throws `.notFound`, `.storageUnavailable`.
    public func show(id: UInt64) throws(KernelError) -> RunRecord {
        guard let record = try access({ store throws(RunStoreError) in try store.run(id: id) }) else {
            throw KernelError(.notFound, "no run \(id) (see `agentctl runs ls`; finished runs past the newest \(retention.maxFinishedRuns) are deleted)")
        }
        return record
    }

    /// How many stored runs are in each state that is not final (running, awaiting_approval); empty without a store.
    public func openCounts() -> [RunState: Int] {
        let runs = (try? list()) ?? []
        var counts: [RunState: Int] = [:]
        for state in RunState.allCases where !state.isFinal { counts[state] = 0 }
        for run in runs where !run.state.isFinal { counts[run.state, default: 0] += 1 }
        return store == nil ? [:] : counts
    }

    /// The kernel is stopping: write nothing more, so interrupted runs stay `running` for the next start.
    public func suspend() {
        suspended.store(true, ordering: .relaxed)
    }

    // MARK: Checkpoints (ToolLoop)

    /// Records a new run.
    func begin(id: UInt64, agent: String, reply: RunReply, request: RunRequest) {
        write(id, "start") { store, now throws(RunStoreError) in
            try store.begin(id: id, agent: agent, reply: reply, request: request, now: now)
        }
    }

    /// Checkpoints one step of run `id`.
    func record(_ id: UInt64, _ step: RunStep) {
        write(id, "checkpoint") { store, now throws(RunStoreError) in try store.append(run: id, step: step, now: now) }
    }

    /// Records the end of run `id` (counted in `agentos_runs_total`), or another state.
    func update(_ id: UInt64, _ state: RunState, answer: String? = nil, error: KernelError? = nil) {
        if state.isFinal { Counter(label: MetricName.runsEnded, dimensions: [("state", state.rawValue)]).increment() }
        write(id, "record the state of") { [retention] store, now throws(RunStoreError) in
            try store.update(run: id, state: state, answer: answer, error: error, retention: retention, now: now)
        }
    }

    /// The runs a stop interrupted, oldest first; none without a store (logged when it fails).
    func unfinished() -> [RunRecord] {
        guard let store else { return [] }
        do {
            return try store.unfinished()
        } catch {
            logger.error("cannot read the runs to resume: \(error.reason)")
            return []
        }
    }

    // MARK: Helpers

    private func write(_ id: UInt64, _ what: String, _ body: (RunStore, Int64) throws(RunStoreError) -> Void) {
        guard let store, !suspended.load(ordering: .relaxed) else { return }
        do {
            try body(store, Int64(realtimeNanos() / 1_000_000))
        } catch {
            logger.error("cannot \(what) run \(id) (it goes on, but is no longer durable): \(error.reason)")
        }
    }

    private func access<T>(_ body: (RunStore) throws(RunStoreError) -> T) throws(KernelError) -> T {
        guard let store else { throw KernelError(.storageUnavailable, "runs are unavailable: \(absence)") }
        do {
            return try body(store)
        } catch {
            throw KernelError(.storageUnavailable, error.reason)
        }
    }
}
