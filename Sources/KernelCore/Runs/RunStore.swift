/// How many finished runs are kept.
public struct RunRetention: Sendable, Equatable {
    /// Finished runs at most: past it the oldest finished ones are deleted
    /// with their steps (unfinished runs never are).
    public var maxFinishedRuns: Int

    public init(maxFinishedRuns: Int = 1000) {
        self.maxFinishedRuns = maxFinishedRuns
    }
}

/// Why a run store call failed: the database cannot serve it (the operator's line).
public struct RunStoreError: Error, Sendable, Equatable {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }
}

/// Tool-loop runs kept in the state database. KernelCore holds this
/// interface; `StateStore` implements it on SQLite (`SQLiteRunStore`).
///
/// Every method is one transaction, so a step is either stored whole or not
/// at all. Thread-safe: any thread may call. Times are Unix milliseconds.
public protocol RunStore: Sendable {
    /// Records a new run, `running`, with no steps.
    func begin(id: UInt64, agent: String, reply: RunReply, request: RunRequest, now: Int64) throws(RunStoreError)
    /// Appends `step` to run `id`, after its last one.
    func append(run id: UInt64, step: RunStep, now: Int64) throws(RunStoreError)
    /// Sets the state of run `id` (with its answer or error when it ends);
    /// a final state applies `retention` to every finished run.
    func update(
        run id: UInt64, state: RunState, answer: String?, error: KernelError?, retention: RunRetention, now: Int64
    ) throws(RunStoreError)
    /// Runs of `agent` (every agent's with nil), newest first.
    func runs(agent: String?) throws(RunStoreError) -> [RunInfo]
    /// Everything stored of run `id`; nil when there is none.
    func run(id: UInt64) throws(RunStoreError) -> RunRecord?
    /// Every run not final (`running` or `awaiting_approval`), oldest first (at start: the ones a stop interrupted).
    func unfinished() throws(RunStoreError) -> [RunRecord]
}
