import Dispatch
import Synchronization

/// One request in a session, from its prompt to its stored answer.
///
/// Created by `InferenceService` once the session is claimed and its prompt
/// planned (`SessionPrompt`). When the plan cuts turns under the summarize
/// policy, it first asks the model for a summary (an ordinary request with
/// the same id); a summary that fails or is cancelled leaves the turns
/// dropped instead, and the cut says why. Then it runs the request itself
/// (one turn or a tool loop) on the built prompt, and when that answers it
/// stores, in one transaction, the cut, the new turns, the tool calls and
/// results, and the answer. A failed or cancelled request stores nothing.
/// The session is released before `sink` hears the outcome, so the next
/// message may follow at once. Thread-safe: `state` is behind its mutex.
final class SessionExchange: InferenceSink, InferenceHandle, @unchecked Sendable {
    let id: UInt64
    private unowned let service: InferenceService
    private let sessions: SessionService
    private let engine: InferenceEngine
    private let agent: String
    /// The instance that may cancel it (0 for the control API), and its priority: the summary's too.
    private let owner: UInt64
    private let priority: Int
    private let session: String
    private let start: (InferenceParameters, InferenceSink) throws(KernelError) -> InferenceHandle
    private let sink: InferenceSink
    private let parameters: InferenceParameters
    private let history: SessionHistory
    private let plan: SessionPrompt
    private let budget: Int
    /// The request's system messages (not stored) and new turns (stored with the answer).
    private let system: [ChatMessage]
    private let newTurns: [NewSessionTurn]

    private struct State {
        var current: InferenceHandle?
        var cancelled = false
        var ended = false
        var cut: SessionCut?
        var summary: String?
    }

    private let state = Mutex(State())

    init(
        id: UInt64, service: InferenceService, sessions: SessionService, engine: InferenceEngine, agent: String,
        owner: UInt64, priority: Int, session: String, parameters: InferenceParameters, history: SessionHistory, plan: SessionPrompt, budget: Int,
        system: [ChatMessage], newTurns: [NewSessionTurn], sink: InferenceSink,
        start: @escaping (InferenceParameters, InferenceSink) throws(KernelError) -> InferenceHandle
    ) {
        self.id = id
        self.service = service
        self.sessions = sessions
        self.engine = engine
        self.agent = agent
        self.owner = owner
        self.priority = priority
        self.session = session
        self.parameters = parameters
        self.history = history
        self.plan = plan
        self.budget = budget
        self.system = system
        self.newTurns = newTurns
        self.sink = sink
        self.start = start
    }

    /// Starts the summary or the request. Throws (and releases the session) when it cannot be queued.
    func begin() throws(KernelError) {
        guard let first = plan.cut.first, let last = plan.cut.last else {
            state.withLock { $0.summary = history.summary }
            return try runRequest()
        }
        let reason = "the history is \(plan.historyTokens) tokens; the context leaves \(budget) for the prompt"
        if plan.policy == .keepRecent {
            state.withLock { state in
                state.summary = history.summary
                state.cut = cut(first.seq, last.seq, plan.cut.count, .dropped, summary: nil, reason: reason + " (keep_recent)")
            }
            return try runRequest()
        }
        let request = SessionPrompt.summaryRequest(
            previous: history.summary, cut: plan.cut, budget: budget, tokens: engine.tokenCount)
        guard !request.covered.isEmpty else {
            return try summaryFailed("no cut turn fits a summary request", reason: reason)
        }
        var parameters = InferenceParameters(messages: request.messages, maxTokens: SessionPrompt.summaryTokens)
        parameters.seed = self.parameters.seed
        let summary = InferenceRequest(
            id: id, agent: agent, owner: owner, priority: priority, parameters: parameters,
            submittedAt: monotonicNanos(), sink: SummarySink(exchange: self, request: request, reason: reason))
        state.withLock { $0.current = summary }
        do {
            try service.submitTurn(summary)
        } catch {
            try summaryFailed(error.message, reason: reason)
        }
    }

    func cancel() {
        let current = state.withLock { state -> InferenceHandle? in
            state.cancelled = true
            return state.current
        }
        current?.cancel()
    }

    // MARK: The summary

    fileprivate func summarized(
        _ outcome: Result<InferenceResult, KernelError>, request: (messages: [ChatMessage], covered: [SessionTurn], uncovered: [SessionTurn]),
        reason: String
    ) {
        let cancelled = state.withLock { $0.cancelled }
        if cancelled || (try? outcome.get().finishReason) == .cancelled {
            return end(.failure(KernelError(.cancelled, "the request was cancelled while its session was summarized")))
        }
        let text: String
        switch outcome {
        case .failure(let error):
            do { try summaryFailed(error.message, reason: reason) } catch { end(.failure(error)) }
            return
        case .success(let result):
            text = result.text.trimmingWhitespace
        }
        guard !text.isEmpty else {
            do { try summaryFailed("the model wrote an empty summary", reason: reason) } catch { end(.failure(error)) }
            return
        }
        let first = plan.cut.first!.seq
        let last = plan.cut.last!.seq
        var why = reason + " (summarize: \(request.covered.count) turns summarized"
        if let dropped = request.uncovered.last {
            why += "; \(request.uncovered.count) older turns, through \(dropped.seq), did not fit the summary request and were dropped"
        }
        state.withLock { state in
            state.summary = text
            state.cut = cut(first, last, plan.cut.count, .summarized, summary: text, reason: why + ")")
        }
        do { try runRequest() } catch { end(.failure(error)) }
    }

    /// Falls back to dropping the cut turns (recorded with `why`), then runs the request.
    private func summaryFailed(_ why: String, reason: String) throws(KernelError) {
        let first = plan.cut.first!.seq
        let last = plan.cut.last!.seq
        state.withLock { state in
            state.summary = history.summary
            state.cut = cut(first, last, plan.cut.count, .dropped, summary: nil, reason: reason + " (summarize failed: \(why); dropped instead)")
        }
        try runRequest()
    }

    private func cut(_ first: Int64, _ last: Int64, _ turns: Int, _ kind: SessionCut.Kind, summary: String?, reason: String) -> SessionCut {
        SessionCut(fromSeq: first, throughSeq: last, turns: turns, kind: kind, summary: summary, reason: reason, at: Self.now())
    }

    // MARK: The request

    /// Starts the request on the built prompt.
    private func runRequest() throws(KernelError) {
        let summary = state.withLock { $0.summary }
        var built = parameters
        built.session = nil
        built.messages = system + (summary.map { [SessionPrompt.summaryMessage($0)] } ?? []) + plan.kept.map(\.message)
            + newTurns.map(\.message)
        let handle = try start(built, self)
        let cancelled = state.withLock { state -> Bool in
            state.current = handle
            return state.cancelled
        }
        if cancelled { handle.cancel() }
    }

    func received(_ piece: String) { sink.received(piece) }

    func calledTool(_ record: ToolCallRecord) { sink.calledTool(record) }

    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        guard case .success(let result) = outcome, result.finishReason != .cancelled else { return end(outcome) }
        let (cut, summary) = state.withLock { ($0.cut, $0.summary) }
        var turns = newTurns
        for (index, step) in (result.steps ?? []).enumerated() {
            let call = ToolCallRequest(id: "call_\(index + 1)", name: step.tool, arguments: step.arguments)
            let content = ToolLoop.feedback(step.outcome)
            turns.append(turn(ChatMessage(role: "assistant", content: "", toolCalls: [call]), text: step.tool + step.arguments))
            turns.append(turn(ChatMessage(role: "tool", content: content, toolCallID: call.id), text: content))
        }
        turns.append(turn(ChatMessage(role: "assistant", content: result.text), text: result.text))
        do {
            var recorded = cut
            if recorded?.kind == .summarized { recorded?.summary = summary }
            try sessions.record(agent: agent, session: session, policy: parameters.sessionPolicy, cut: recorded, turns: turns, now: Self.now())
            end(outcome)
        } catch {
            end(.failure(KernelError(.storageUnavailable, "the answer could not be stored in session \(session): \(error.message)")))
        }
    }

    private func turn(_ message: ChatMessage, text: String) -> NewSessionTurn {
        NewSessionTurn(message: message, tokens: engine.tokenCount(text) + SessionPrompt.messageOverhead)
    }

    /// Releases the session, then reports `outcome` (once).
    private func end(_ outcome: Result<InferenceResult, KernelError>) {
        let first = state.withLock { state -> Bool in
            defer { state.ended = true; state.current = nil }
            return !state.ended
        }
        guard first else { return }
        sessions.close(agent: agent, session: session, request: id)
        sink.finished(outcome)
    }

    static func now() -> Int64 { Int64(realtimeNanos() / 1_000_000) }
}

/// Receives the summary request's outcome and hands it to its exchange off the engine's thread.
private final class SummarySink: InferenceSink, Sendable {
    let exchange: SessionExchange
    let request: (messages: [ChatMessage], covered: [SessionTurn], uncovered: [SessionTurn])
    let reason: String

    init(exchange: SessionExchange, request: (messages: [ChatMessage], covered: [SessionTurn], uncovered: [SessionTurn]), reason: String) {
        self.exchange = exchange
        self.request = request
        self.reason = reason
    }

    func received(_ piece: String) {}

    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        DispatchQueue.global().async { [self] in exchange.summarized(outcome, request: request, reason: reason) }
    }
}

extension String {
    /// Without leading and trailing spaces and newlines.
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
