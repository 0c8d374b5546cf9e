import DequeModule

/// The kernel's queue in front of the engine: holds requests until the engine
/// has room and picks the next one by `policy`.
///
/// Agents (and the control API) `submit`; the engine `take`s and reports the
/// tokens it processes with `charge`, which the fair policy uses. Also keeps
/// each agent's `InferenceAccount`. Thread-safe: one lock guards everything.
public final class InferenceScheduler: @unchecked Sendable {
    public let policy: SchedulingPolicy
    /// Requests queued at most; more get `.full`.
    public let capacity: Int
    /// The timelines of recent requests, for `agentctl trace`.
    public let traces = RequestTraces()

    /// Tokens weigh in the fair share as in VTC: a generated token costs more than a prompt token.
    static let promptWeight = 1.0
    static let completionWeight = 2.0

    private let lock = ConditionLock()
    private var queues: [String: Deque<InferenceRequest>] = [:]
    private var queued = 0
    /// Queued or running requests, by id, for cancel.
    private var unfinished: [UInt64: InferenceRequest] = [:]
    /// The fair policy's virtual token counters.
    private var counters: [String: Double] = [:]
    private var accounts: [String: InferenceAccount] = [:]
    private var closedReason: KernelError?

    public init(policy: SchedulingPolicy, capacity: Int = 4096) {
        self.policy = policy
        self.capacity = capacity
    }

    /// Queues `request`. Throws `.full` when `capacity` requests wait, or the
    /// reason the scheduler was closed.
    public func submit(_ request: InferenceRequest) throws(KernelError) {
        request.onEnd = { [weak self] request, outcome in self?.ended(request, outcome) }
        let refusal: KernelError? = lock.withLock {
            if let closedReason { return closedReason }
            guard queued < capacity else {
                return KernelError(.full, "the inference queue is full (\(capacity) requests wait)")
            }
            if queues[request.agent, default: []].isEmpty { liftCounter(of: request.agent) }
            queues[request.agent, default: []].append(request)
            queued += 1
            unfinished[request.id] = request
            accounts[request.agent, default: InferenceAccount()].requests += 1
            accounts[request.agent, default: InferenceAccount()].inFlight += 1
            lock.broadcast()
            return nil
        }
        if let refusal {
            request.onEnd = nil
            throw refusal
        }
    }

    /// Removes and returns the next request by policy, waiting until
    /// `deadline` (monotonic ns; nil = do not wait) when none is queued.
    /// Cancelled requests met on the way are finished as cancelled.
    /// Returns nil when none came, or once the scheduler is closed.
    public func take(waitingUntil deadline: UInt64? = nil) -> InferenceRequest? {
        var skipped: [InferenceRequest] = []
        defer { for request in skipped { request.finish(.cancelled, at: monotonicNanos()) } }
        return lock.withLock {
            while closedReason == nil {
                if let request = pickLocked() {
                    if request.isCancelled {
                        skipped.append(request)
                        continue
                    }
                    return request
                }
                guard let deadline, lock.wait(until: deadline) else { return nil }
            }
            return nil
        }
    }

    /// Wakes an engine blocked in `take` (for example to shut it down).
    public func wakeEngine() { lock.withLock { lock.broadcast() } }

    /// Records tokens the engine processed for `request`: the fair share's currency.
    public func charge(_ request: InferenceRequest, promptTokens: Int, completionTokens: Int) {
        let cost = Double(promptTokens) * Self.promptWeight + Double(completionTokens) * Self.completionWeight
        lock.withLock { counters[request.agent, default: 0] += cost }
    }

    /// Cancels request `id` if `owner` submitted it (nil: any owner): a queued
    /// request ends at once, a running one at the engine's next step.
    /// Returns false when no such unfinished request exists.
    public func cancel(id: UInt64, owner: UInt64?) -> Bool {
        cancel { $0.id == id && (owner == nil || $0.owner == owner) } > 0
    }

    /// Cancels every unfinished request of `owner` (an instance being unloaded).
    public func cancelAll(owner: UInt64) {
        _ = cancel { $0.owner == owner }
    }

    private func cancel(where matches: (InferenceRequest) -> Bool) -> Int {
        let (queuedMatches, running): ([InferenceRequest], [InferenceRequest]) = lock.withLock {
            var removed: [InferenceRequest] = []
            for agent in Array(queues.keys) {
                let before = queues[agent]!.count
                queues[agent]!.removeAll { request in
                    guard matches(request) else { return false }
                    removed.append(request)
                    return true
                }
                queued -= before - queues[agent]!.count
                if queues[agent]!.isEmpty { queues[agent] = nil }
            }
            let removedIDs = Set(removed.map(\.id))
            return (removed, unfinished.values.filter { matches($0) && !removedIDs.contains($0.id) })
        }
        let now = monotonicNanos()
        for request in queuedMatches {
            request.cancel()
            request.finish(.cancelled, at: now)
        }
        for request in running { request.cancel() }
        return queuedMatches.count + running.count
    }

    /// Refuses new requests with `reason` and fails the queued ones with it.
    public func close(reason: KernelError) {
        let dropped: [InferenceRequest] = lock.withLock {
            closedReason = reason
            let all = queues.values.flatMap { $0 }
            queues.removeAll()
            queued = 0
            lock.broadcast()
            return all
        }
        for request in dropped { request.fail(reason) }
    }

    /// Requests waiting for the engine.
    public var queueLength: Int { lock.withLock { queued } }

    public func account(of agent: String) -> InferenceAccount? { lock.withLock { accounts[agent] } }

    public func allAccounts() -> [String: InferenceAccount] { lock.withLock { accounts } }

    // MARK: Policy

    /// The next request by policy, removed from its queue. Lock held.
    private func pickLocked() -> InferenceRequest? {
        guard queued > 0 else { return nil }
        let agent: String
        switch policy {
        case .fifo:
            agent = queues.min { ($0.value.first?.id ?? .max) < ($1.value.first?.id ?? .max) }!.key
        case .fair:
            agent = queues.filter { !$0.value.isEmpty }.min { a, b in
                let (ca, cb) = (counters[a.key, default: 0], counters[b.key, default: 0])
                return ca != cb ? ca < cb : a.value.first!.id < b.value.first!.id
            }!.key
        case .priority:
            var best: (agent: String, index: Int, request: InferenceRequest)?
            for (agent, queue) in queues {
                for (index, request) in queue.enumerated() {
                    if let current = best?.request,
                       request.priority < current.priority || (request.priority == current.priority && request.id > current.id) {
                        continue
                    }
                    best = (agent, index, request)
                }
            }
            guard let best else { return nil }
            queued -= 1
            return queues[best.agent]!.remove(at: best.index)
        }
        queued -= 1
        let request = queues[agent]!.removeFirst()
        if queues[agent]!.isEmpty { queues[agent] = nil }
        return request
    }

    /// An agent that starts queueing again may not bank the share it left
    /// unused while idle: its counter rises to the least of the backlogged ones.
    private func liftCounter(of agent: String) {
        let backlogged = queues.compactMap { $0.value.isEmpty ? nil : counters[$0.key, default: 0] }
        guard let least = backlogged.min() else { return }
        counters[agent] = max(counters[agent, default: 0], least)
    }

    private func ended(_ request: InferenceRequest, _ outcome: Result<InferenceResult, KernelError>) {
        lock.withLock {
            unfinished[request.id] = nil
            var account = accounts[request.agent, default: InferenceAccount()]
            account.inFlight -= 1
            switch outcome {
            case .success(let result): account.add(result)
            case .failure: account.failed += 1
            }
            accounts[request.agent] = account
        }
        InferenceMetrics.record(agent: request.agent, outcome)
        traces.recordTurn(request, outcome, endedAt: monotonicNanos())
    }
}
