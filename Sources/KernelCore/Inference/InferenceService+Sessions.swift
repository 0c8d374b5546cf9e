extension InferenceService {
    /// Starts a request in `session` of `agent`: claims the session, plans
    /// its prompt within the engine's context (`SessionPrompt`) and hands the
    /// rest to a `SessionExchange`, which calls `run` with the built
    /// parameters. Throws `.engineUnavailable`, `.invalidArgument` (a bad id
    /// or request), `.conflict` (the session is answering another request),
    /// `.promptTooLong` (the new message alone does not fit),
    /// `.storageUnavailable`, or why `run` refused the request.
    func startInSession(
        _ session: String, id: UInt64, agent: String, owner: UInt64, priority: Int, parameters: InferenceParameters,
        tools: ToolUse?, sink: InferenceSink,
        run: @escaping (InferenceParameters, InferenceSink) throws(KernelError) -> InferenceHandle
    ) throws(KernelError) -> InferenceHandle {
        guard let engine else {
            throw KernelError(.engineUnavailable, "no inference engine: agentosd was started with --engine none")
        }
        try parameters.validate()
        let history = try sessions.open(agent: agent, session: session, request: id)
        do throws(KernelError) {
            let system = parameters.messages.filter { $0.role == "system" }
            let newTurns = parameters.messages.filter { $0.role != "system" }.map { message in
                NewSessionTurn(message: message, tokens: engine.tokenCount(message.content) + SessionPrompt.messageOverhead)
            }
            guard !newTurns.isEmpty else {
                throw KernelError(.invalidArgument, "a session request needs a new message (one that is not a system message)")
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
            return exchange
        } catch {
            sessions.close(agent: agent, session: session)
            throw error
        }
    }
}
