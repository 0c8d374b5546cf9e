extension InferenceService {
    /// Starts a request in `session` of `agent`, or queues it while the
    /// session answers another request (as `parameters.sessionWhenBusy`
    /// says; the handle then is the waiting request's). Once the session is
    /// claimed, plans the prompt within the engine's context
    /// (`SessionPrompt`) and hands the rest to a `SessionExchange`, which
    /// calls `run` with the built parameters. Throws `.engineUnavailable`,
    /// `.invalidArgument` (a bad id or request), `.conflict` (the session is
    /// busy and the policy rejects, or its queue is full),
    /// `.storageUnavailable`, or, when the session was free,
    /// `.promptTooLong` (the new message alone does not fit) or why `run`
    /// refused the request; a queued request hears those through `sink`.
    func startInSession(
        _ session: String, id: UInt64, agent: String, owner: UInt64, priority: Int, parameters: InferenceParameters,
        tools: ToolUse?, sink: InferenceSink,
        run: @escaping (InferenceParameters, InferenceSink) throws(KernelError) -> InferenceHandle
    ) throws(KernelError) -> InferenceHandle {
        guard let engine else {
            throw KernelError(.engineUnavailable, "no inference engine: agentosd was started with --engine none")
        }
        try parameters.validate()
        guard parameters.messages.contains(where: { $0.role != "system" }) else {
            throw KernelError(.invalidArgument, "a session request needs a new message (one that is not a system message)")
        }
        let begin = { [self] () throws(KernelError) -> InferenceHandle in
            try beginInSession(
                session, id: id, agent: agent, owner: owner, priority: priority, parameters: parameters, engine: engine,
                tools: tools, sink: sink, run: run)
        }
        let waiter = SessionWaiter(id: id, owner: owner, agent: agent, session: session, sessions: sessions, sink: sink, begin: begin)
        switch try sessions.claim(agent: agent, session: session, waiter: waiter, whenBusy: parameters.sessionWhenBusy) {
        case .claimed:
            return try begin()
        case .queued(let interrupting):
            interrupting?.cancel()
            return waiter
        }
    }

    /// `startInSession` with the session claimed; releases it when it throws.
    private func beginInSession(
        _ session: String, id: UInt64, agent: String, owner: UInt64, priority: Int, parameters: InferenceParameters,
        engine: InferenceEngine, tools: ToolUse?, sink: InferenceSink,
        run: @escaping (InferenceParameters, InferenceSink) throws(KernelError) -> InferenceHandle
    ) throws(KernelError) -> InferenceHandle {
        do throws(KernelError) {
            let history = try sessions.history(agent: agent, session: session)
            let system = parameters.messages.filter { $0.role == "system" }
            let newTurns = parameters.messages.filter { $0.role != "system" }.map { message in
                NewSessionTurn(message: message, tokens: engine.tokenCount(message.content) + SessionPrompt.messageOverhead)
            }
            // A tool loop keeps half the context for the tools' descriptions, calls and results.
            let room = engine.requestContextTokens - parameters.maxTokens
            let budget = tools == nil ? room : room / 2
            let systemTokens = system.reduce(0) { $0 + engine.tokenCount($1.content) + SessionPrompt.messageOverhead }
            let summaryTokens = history.summary.map { engine.tokenCount($0) + 2 * SessionPrompt.messageOverhead } ?? 0
            let plan = try SessionPrompt.plan(
                history: history, summaryTokens: summaryTokens, systemTokens: systemTokens,
                newTokens: newTurns.reduce(0) { $0 + $1.tokens }, budget: budget, policy: parameters.sessionPolicy)
            let exchange = SessionExchange(
                id: id, service: self, sessions: sessions, engine: engine, agent: agent, owner: owner, priority: priority,
                session: session, parameters: parameters, history: history, plan: plan, budget: budget, system: system,
                newTurns: newTurns, sink: sink, start: run)
            try exchange.begin()
            if sessions.started(exchange, agent: agent, session: session) { exchange.cancel() }
            return exchange
        } catch {
            sessions.close(agent: agent, session: session, request: id)
            throw error
        }
    }
}
