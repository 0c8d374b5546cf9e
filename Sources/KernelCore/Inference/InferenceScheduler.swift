import DequeModule

/// The fair share at one moment (`InferenceScheduler.fairShare`).
public struct FairShareStanding: Sendable {
    /// The agent with the request the fair policy picks next, and its weighted tokens served.
    public var next: (agent: String, counter: Double)?
    /// Weighted tokens served to each agent asked about, in order.
    public var counters: [Double]
}

/// The kernel's queue in front of the engine: holds requests until the engine
/// has room and picks the next one by `policy`.
///
/// Agents (and the control API) `submit`; the engine `take`s and reports the
/// tokens it processes with `charge`, which the fair policy and the quotas
/// use. Also keeps each agent's `InferenceAccount` and enforces its
/// `InferenceQuota`: an agent over its token rate is skipped until its bucket
/// refills (never holding up other agents), and its budget and concurrency
/// limits refuse `submit` with `.quotaExceeded`. Thread-safe: one lock guards everything.
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
    private var queues: [String: Deque<Queued>] = [:]
    private var queued = 0
    /// Queued or running requests, by id, for cancel.
    private var unfinished: [UInt64: InferenceRequest] = [:]
    /// The fair policy's virtual token counters.
    private var counters: [String: Double] = [:]
    private var accounts: [String: InferenceAccount] = [:]
    private var quotas: [String: InferenceQuotaState] = [:]
    private var closedReason: KernelError?
    /// The time quotas are measured on.
    private let clock: @Sendable () -> UInt64

    /// Called after a quota refused a request — at `submit`, or when a
    /// throttled request waited too long — with the agent, the quota's key
    /// ("tokens_per_minute", "token_budget", "concurrent_inference") and the
    /// error's message. Runs outside the scheduler's lock, on the thread that
    /// called `submit` or `take` (an engine thread): it must not block. Set it
    /// before any request is submitted.
    public var onQuotaRefusal: (@Sendable (_ agent: String, _ quota: String, _ message: String) -> Void)?

    /// A request waiting in an agent's queue, since `queuedAt` on `clock`.
    private struct Queued {
        let request: InferenceRequest
        let queuedAt: UInt64
    }

    /// A request a quota refused, to fail and report outside the lock.
    private struct QuotaRefusal {
        let request: InferenceRequest
        let quota: String
        let error: KernelError
    }

    /// `clock` gives the nanoseconds quotas are measured on (virtual time in
    /// tests); `take`'s deadline stays on `monotonicNanos`.
    public init(policy: SchedulingPolicy, capacity: Int = 4096, clock: @escaping @Sendable () -> UInt64 = monotonicNanos) {
        self.policy = policy
        self.capacity = capacity
        self.clock = clock
    }

    /// Queues `request`. Throws `.full` when `capacity` requests wait,
    /// `.quotaExceeded` when the agent has used its token budget or has as
    /// many requests in flight as its quota allows, or the reason the
    /// scheduler was closed. A token rate does not refuse: the request waits.
    public func submit(_ request: InferenceRequest) throws(KernelError) {
        request.onEnd = { [weak self] request, outcome in self?.ended(request, outcome) }
        request.onCancelWhileQueued = { [weak self] request in self?.withdraw(request) }
        let refusal: (error: KernelError, quota: String?)? = lock.withLock {
            if let closedReason { return (closedReason, nil) }
            guard queued < capacity else {
                return (KernelError(.full, "the inference queue is full (\(capacity) requests wait)"), nil)
            }
            let inFlight = accounts[request.agent]?.inFlight ?? 0
            if let refusal = quotas[request.agent]?.refusal(of: request.agent, inFlight: inFlight) {
                quotas[request.agent]!.refusals += 1
                return (KernelError(.quotaExceeded, refusal.message), refusal.quota)
            }
            if queues[request.agent, default: []].isEmpty { liftCounter(of: request.agent) }
            queues[request.agent, default: []].append(Queued(request: request, queuedAt: clock()))
            queued += 1
            unfinished[request.id] = request
            accounts[request.agent, default: InferenceAccount()].requests += 1
            accounts[request.agent, default: InferenceAccount()].inFlight += 1
            lock.broadcast()
            return nil
        }
        if let refusal {
            request.onEnd = nil
            request.onCancelWhileQueued = nil
            if let quota = refusal.quota { onQuotaRefusal?(request.agent, quota, refusal.error.message) }
            throw refusal.error
        }
    }

    /// Removes and returns the next request by policy, waiting until
    /// `deadline` (monotonic ns; nil = do not wait) when none is queued but
    /// throttled ones. Cancelled requests met on the way are finished as
    /// cancelled; requests that waited for budget longer than their quota
    /// allows fail with `.quotaExceeded`. While only throttled requests are
    /// queued it sleeps until the first of them may run or expire, or the
    /// deadline, whichever comes first. Returns nil when none came, or once
    /// the scheduler is closed.
    public func take(waitingUntil deadline: UInt64? = nil) -> InferenceRequest? {
        while true {
            var cancelled: [InferenceRequest] = []
            var expired: [QuotaRefusal] = []
            let pass: TakePass = lock.withLock {
                while closedReason == nil {
                    let now = clock()
                    expired += expireLocked(now: now)
                    if let request = pickLocked(now: now) {
                        if request.isCancelled {
                            cancelled.append(request)
                            continue
                        }
                        return .finished(request)
                    }
                    guard let deadline else { return .finished(nil) }
                    let realNow = monotonicNanos()
                    guard realNow < deadline else { return .finished(nil) }
                    if !cancelled.isEmpty || !expired.isEmpty { return .dropped }
                    var wake = deadline
                    if let wait = nanosUntilQuotaEventLocked(now: now), wait < deadline - realNow { wake = realNow + wait }
                    _ = lock.wait(until: wake)
                }
                return .finished(nil)
            }
            for request in cancelled { request.finish(.cancelled, at: monotonicNanos()) }
            report(expired)
            if case .finished(let request) = pass { return request }
        }
    }

    /// What one pass of `take` under the lock came to.
    private enum TakePass {
        /// The request to return, or nil for none.
        case finished(InferenceRequest?)
        /// Requests were dropped (cancelled, or expired waiting for budget):
        /// end them outside the lock before waiting on.
        case dropped
    }

    /// Wakes an engine blocked in `take` (for example to shut it down).
    public func wakeEngine() { lock.withLock { lock.broadcast() } }

    /// Records tokens the engine processed for `request`: the fair share's
    /// currency (weighted) and the quotas' (prompt plus completion).
    public func charge(_ request: InferenceRequest, promptTokens: Int, completionTokens: Int) {
        let cost = Double(promptTokens) * Self.promptWeight + Double(completionTokens) * Self.completionWeight
        lock.withLock {
            counters[request.agent, default: 0] += cost
            quotas[request.agent]?.record(promptTokens + completionTokens, now: clock())
        }
    }

    // MARK: Quotas

    /// Sets `agent`'s inference quota, or removes it (nil); the tokens it has
    /// used so far still count against a budget set later. Takes effect for
    /// queued requests at once; running ones finish. Thread-safe.
    public func setQuota(_ quota: InferenceQuota?, for agent: String) {
        lock.withLock {
            quotas[agent, default: InferenceQuotaState()].apply(quota, now: clock())
            lock.broadcast()
        }
    }

    /// Drops `agent`'s quota and its usage and refusal counts (its instance
    /// was unloaded). Thread-safe.
    public func forgetQuota(of agent: String) {
        lock.withLock {
            quotas[agent] = nil
            lock.broadcast()
        }
    }

    /// Where `agent` stands against its quota now; zeros for an agent
    /// without one. Thread-safe.
    public func quotaUse(of agent: String) -> InferenceQuotaUse {
        lock.withLock {
            let now = clock()
            var use = InferenceQuotaUse(inFlight: accounts[agent]?.inFlight ?? 0)
            guard let state = quotas[agent] else { return use }
            use.tokensAvailable = state.bucket.map { bucket in
                let balance = bucket.balance(now: now).rounded(.down)
                return Int(exactly: balance) ?? (balance > 0 ? .max : .min)
            }
            use.tokensUsed = state.tokensUsed
            use.tokensLastMinute = state.lastMinute.total(now: now)
            use.throttled = state.isThrottled(now: now) ? queues[agent]?.count ?? 0 : 0
            use.refusals = state.refusals
            return use
        }
    }

    /// Removes the queued requests that waited for budget longer than their
    /// agent's quota allows, to be failed outside the lock. Lock held.
    private func expireLocked(now: UInt64) -> [QuotaRefusal] {
        var expired: [QuotaRefusal] = []
        for (agent, queue) in queues {
            guard let state = quotas[agent] else { continue }
            // Requests queue in clock order, so the ones that waited too long lead the queue.
            var remaining = queue
            while let head = remaining.first,
                  let waited = state.budgetWait(ofRequestQueuedAt: head.queuedAt, now: now), waited > state.maxWaitNanos {
                remaining.removeFirst()
                let error = KernelError(.quotaExceeded, state.expiryMessage(of: agent, waitedNanos: waited))
                expired.append(QuotaRefusal(request: head.request, quota: "tokens_per_minute", error: error))
            }
            guard remaining.count < queue.count else { continue }
            queued -= queue.count - remaining.count
            quotas[agent]!.refusals += queue.count - remaining.count
            queues[agent] = remaining.isEmpty ? nil : remaining
        }
        return expired
    }

    /// Clock nanoseconds until a throttled agent's bucket turns positive or
    /// one of its queued requests expires; nil when no queued request waits
    /// for budget. Lock held.
    private func nanosUntilQuotaEventLocked(now: UInt64) -> UInt64? {
        var soonest: UInt64?
        for (agent, queue) in queues {
            guard let state = quotas[agent], let bucket = state.bucket, let head = queue.first,
                  let waited = state.budgetWait(ofRequestQueuedAt: head.queuedAt, now: now) else { continue }
            let untilExpiry = (state.maxWaitNanos - min(waited, state.maxWaitNanos)).addingReportingOverflow(1)
            let untilEvent = min(bucket.nanosUntilPositive(now: now), untilExpiry.overflow ? .max : untilExpiry.partialValue)
            soonest = min(soonest ?? .max, untilEvent)
        }
        return soonest
    }

    /// Fails requests a quota refused and reports each refusal. Lock not held.
    private func report(_ refusals: [QuotaRefusal]) {
        for refusal in refusals {
            refusal.request.fail(refusal.error)
            onQuotaRefusal?(refusal.request.agent, refusal.quota, refusal.error.message)
        }
    }

    /// Cancels request `id` if `owner` submitted it (nil: any owner): a queued
    /// request ends at once, a running one at the engine's next step.
    /// Returns false when no such unfinished request exists.
    public func cancel(id: UInt64, owner: UInt64?) -> Bool {
        cancel { $0.id == id && (owner == nil || $0.owner == owner) } > 0
    }

    /// Cancels every unfinished request of `owner` (an instance being unloaded):
    /// queued ones end at once, running ones at the engine's next step.
    public func cancelAll(owner: UInt64) {
        _ = cancel { $0.owner == owner }
    }

    private func cancel(where matches: (InferenceRequest) -> Bool) -> Int {
        let matched = lock.withLock { unfinished.values.filter(matches) }
        for request in matched {
            request.cancel()  // a queued request withdraws itself
            withdraw(request)  // in case it was flagged before it was queued
        }
        return matched.count
    }

    /// Takes `request` out of its queue and finishes it as cancelled, if it
    /// is still queued; does nothing once an engine took it. Lock not held.
    private func withdraw(_ request: InferenceRequest) {
        let removed: Bool = lock.withLock {
            guard let index = queues[request.agent]?.firstIndex(where: { $0.request === request }) else { return false }
            queues[request.agent]!.remove(at: index)
            if queues[request.agent]!.isEmpty { queues[request.agent] = nil }
            queued -= 1
            return true
        }
        if removed { request.finish(.cancelled, at: monotonicNanos()) }
    }

    /// Refuses new requests with `reason` and fails the queued ones with it.
    public func close(reason: KernelError) {
        let dropped: [InferenceRequest] = lock.withLock {
            closedReason = reason
            let all = queues.values.flatMap { $0.map(\.request) }
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

    /// The next request by policy from the agents not throttled at `now`,
    /// removed from its queue. Lock held.
    private func pickLocked(now: UInt64) -> InferenceRequest? {
        guard queued > 0 else { return nil }
        let ready = queues.lazy.filter { !$0.value.isEmpty && self.quotas[$0.key]?.isThrottled(now: now) != true }
        let agent: String
        switch policy {
        case .fifo:
            guard let first = ready.min(by: { $0.value.first!.request.id < $1.value.first!.request.id }) else { return nil }
            agent = first.key
        case .fair:
            guard let least = leastServedLocked(now: now) else { return nil }
            agent = least
        case .priority:
            var best: (agent: String, index: Int, request: InferenceRequest)?
            for (agent, queue) in ready {
                for (index, request) in queue.lazy.map(\.request).enumerated() {
                    if let current = best?.request,
                       request.priority < current.priority || (request.priority == current.priority && request.id > current.id) {
                        continue
                    }
                    best = (agent, index, request)
                }
            }
            guard let best else { return nil }
            queued -= 1
            queues[best.agent]!.remove(at: best.index)
            if queues[best.agent]!.isEmpty { queues[best.agent] = nil }
            return best.request
        }
        queued -= 1
        let request = queues[agent]!.removeFirst().request
        if queues[agent]!.isEmpty { queues[agent] = nil }
        return request
    }

    /// The agent the fair policy serves next among those not throttled at
    /// `now`: the fewest weighted tokens served, then the oldest request. Lock held.
    private func leastServedLocked(now: UInt64) -> String? {
        queues.lazy.filter { !$0.value.isEmpty && self.quotas[$0.key]?.isThrottled(now: now) != true }.min { a, b in
            let (ca, cb) = (counters[a.key, default: 0], counters[b.key, default: 0])
            return ca != cb ? ca < cb : a.value.first!.request.id < b.value.first!.request.id
        }?.key
    }

    /// Where the fair share stands for preemption: the agent the fair policy
    /// would serve next (nil when no request is ready) and its weighted tokens
    /// served, and those of each of `agents` (the ones running). Thread-safe.
    public func fairShare(of agents: [String]) -> FairShareStanding {
        lock.withLock {
            let next = policy == .fair ? leastServedLocked(now: clock()) : nil
            return FairShareStanding(
                next: next.map { ($0, counters[$0, default: 0]) }, counters: agents.map { counters[$0, default: 0] })
        }
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
        InferenceMetrics.record(agent: request.agent, owner: request.owner, outcome)
        traces.recordTurn(request, outcome, endedAt: monotonicNanos())
    }
}
