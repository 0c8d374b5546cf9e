import CAgentOS
import Glibc
import Logging
import Synchronization

/// Runs inference for agents and the control API: queues requests on the
/// scheduler in front of the engine, runs tool loops, and serves the `infer`,
/// `infer_stream`, `infer_submit` and `infer_cancel` syscalls.
///
/// Thread-safe: the syscalls run on the calling instance's own thread (they
/// check), everything else on any thread; `toolLoops` is its only state.
public final class InferenceService: Sendable {
    /// The inference device, when the kernel has one.
    public let engine: InferenceEngine?
    /// Queues every inference request in front of `engine`.
    public let scheduler: InferenceScheduler
    let tools: ToolService
    /// Sessions requests may name.
    let sessions: SessionService
    /// Where tool loops are checkpointed.
    let runs: RunService
    let table: InstanceTable
    private let ids: IdentifierMint
    let configuration: KernelConfiguration
    let logger: Logger
    /// Running tool loops by request id, for cancellation.
    let toolLoops = Mutex<[UInt64: ToolLoop]>([:])

    init(
        engine: InferenceEngine?, scheduler: InferenceScheduler, tools: ToolService, sessions: SessionService, runs: RunService,
        table: InstanceTable, ids: IdentifierMint, configuration: KernelConfiguration, logger: Logger
    ) {
        self.engine = engine
        self.scheduler = scheduler
        self.tools = tools
        self.sessions = sessions
        self.runs = runs
        self.table = table
        self.ids = ids
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: Control API

    /// Queues an inference request accounted to `agent` (an instance name or
    /// "agentctl") and returns it; with `tools`, runs the tool loop. `sink`
    /// receives the output on a kernel thread.
    /// Throws `.engineUnavailable` without an engine, or why the request is refused.
    public func submit(
        agent: String, priority: Int, parameters: InferenceParameters, tools: ToolUse? = nil, sink: InferenceSink
    ) throws(KernelError) -> InferenceHandle {
        try start(id: ids.mint(), agent: agent, owner: 0, priority: priority, parameters: parameters, tools: tools, sink: sink)
    }

    /// Cancels request `id` (of instance `owner`, or any with nil); false when no such request runs or waits.
    public func cancel(id: UInt64, owner: UInt64?) -> Bool {
        if let waiter = sessions.waiting(owner: owner, id: id).first {
            waiter.cancel()
            return true
        }
        let loop = toolLoops.withLock { $0[id] }
        if let loop, owner == nil || loop.owner == owner {
            loop.cancel()
            return true
        }
        return scheduler.cancel(id: id, owner: owner)
    }

    /// Cancels the running tool loop `id` (`agentctl runs cancel`); false when none runs.
    public func cancelRun(id: UInt64) -> Bool {
        guard let loop = toolLoops.withLock({ $0[id] }) else { return false }
        loop.cancel()
        return true
    }

    /// The operator's decision on the call run `id` waits for (AOS_TOOL_NEEDS_APPROVAL):
    /// approved, it runs; rejected, the model reads the rejection and `comment`.
    /// False when no run `id` waits for one.
    public func decideRun(id: UInt64, approve: Bool, comment: String?) -> Bool {
        guard let loop = toolLoops.withLock({ $0[id] }) else { return false }
        return loop.decide(approve: approve, comment: comment)
    }

    // MARK: Syscalls

    /// `infer` and `infer_stream`: queue, then wait on the caller's thread,
    /// handing pieces to `onToken` when given.
    func infer(
        from instance: Instance, request: UnsafePointer<aos_infer_request>?, result: UnsafeMutablePointer<aos_infer_result>?,
        onToken: aos_token_fn?, user: UnsafeMutableRawPointer?, streaming: Bool
    ) -> AOSStatus {
        guard instance.isOwnThread else { return .wrongThread }
        guard let result, Int(result.pointee.struct_size) >= aos_infer_result.minimumSize else {
            return refuse(instance, "infer", KernelError(.invalidArgument, "result is NULL or its struct_size is too small"))
        }
        result.pointee.text = aos_buffer(ptr: nil, len: 0)
        if Int(result.pointee.struct_size) >= MemoryLayout<aos_infer_result>.size {
            result.pointee.trace = aos_buffer(ptr: nil, len: 0)
        }
        if streaming && onToken == nil {
            return refuse(instance, "infer_stream", KernelError(.invalidArgument, "on_token is NULL"))
        }
        guard instance.mayInfer(streaming ? .inferStream : .infer) else { return .permissionDenied }
        let channel = InferenceChannel(streaming: streaming)
        let inference: InferenceHandle
        switch start(for: instance, request, id: instance.own.mintID(from: ids), sink: channel) {
        case .failure(let error): return refuse(instance, streaming ? "infer_stream" : "infer", error)
        case .success(let handle): inference = handle
        }

        // Waiting on the engine is not the handler's own time: pause its deadline.
        let handlerStart = instance.handlerStartedAt.exchange(0)
        let waitStart = monotonicNanos()
        defer {
            if handlerStart != 0 {
                instance.handlerStartedAt.store(handlerStart &+ (monotonicNanos() &- waitStart))
            }
        }
        guard instance.beginWait(on: channel.lock) else {
            inference.cancel()
            return .stopping
        }
        defer { instance.endWait() }
        var cancelledByCallback = false
        while true {
            switch channel.next(interrupted: { instance.stopRequested.load(ordering: .relaxed) }) {
            case .pieces(let pieces):
                guard let onToken, !cancelledByCallback else { continue }
                for piece in pieces {
                    var piece = piece
                    let status = piece.withUTF8 { bytes in
                        bytes.withMemoryRebound(to: CChar.self) { onToken(user, $0.baseAddress, $0.count) }
                    }
                    if status != AOS_OK {
                        cancelledByCallback = true
                        inference.cancel()
                        break
                    }
                }
            case .interrupted:
                inference.cancel()
                return .stopping
            case .finished(.failure(let error)):
                return refuse(instance, "infer", error, request: inference.id)
            case .finished(.success(let value)):
                guard result.pointee.fill(value, text: true) else { return .outOfMemory }
                result.pointee.status = AOS_OK
                return .ok
            }
        }
    }

    /// `infer_submit`: queue, answer later through the mailbox.
    func inferSubmit(from instance: Instance, request: UnsafePointer<aos_infer_request>?, requestID: UnsafeMutablePointer<UInt64>?) -> AOSStatus {
        guard instance.isOwnThread else { return .wrongThread }
        guard let requestID else { return refuse(instance, "infer_submit", KernelError(.invalidArgument, "request_id is NULL")) }
        guard !instance.stopRequested.load(ordering: .relaxed) else { return .stopping }
        guard instance.mayInfer(.inferSubmit) else { return .permissionDenied }
        let id = instance.own.mintID(from: ids)
        switch start(for: instance, request, id: id, sink: MailboxInferenceSink(instance: instance, requestID: id)) {
        case .failure(let error): return refuse(instance, "infer_submit", error)
        case .success:
            requestID.pointee = id
            return .ok
        }
    }

    /// `infer_cancel`.
    func inferCancel(from instance: Instance, requestID: UInt64) -> AOSStatus {
        cancel(id: requestID, owner: instance.id) ? .ok : .notFound
    }

    // MARK: Helpers

    /// Reads a plugin's request and starts it.
    private func start(
        for instance: Instance, _ request: UnsafePointer<aos_infer_request>?, id: UInt64, sink: InferenceSink
    ) -> Result<InferenceHandle, KernelError> {
        switch InferenceParameters.fromABI(request) {
        case .failure(let error): return .failure(error)
        case .success(let (parameters, priority, tools)):
            do throws(KernelError) {
                let handle = try start(
                    id: id, agent: instance.name, owner: instance.id, priority: instance.priority + priority,
                    parameters: parameters, tools: tools, holder: instance, sink: sink)
                instance.noteInference(id)
                return .success(handle)
            } catch {
                return .failure(error)
            }
        }
    }

    /// Queues one request, or starts a tool loop when `tools` is given; in
    /// its session when it names one. With a `holder` (the instance asking,
    /// on its own thread), the model is offered only the matching tools it
    /// may call: they are chosen here, on that thread, also for a request
    /// that waits for its session.
    private func start(
        id: UInt64, agent: String, owner: UInt64, priority: Int, parameters: InferenceParameters,
        tools: ToolUse?, holder: Instance? = nil, sink: InferenceSink
    ) throws(KernelError) -> InferenceHandle {
        let loop = try tools.map { use throws(KernelError) in
            ToolLoopPlan(
                use: use, offered: try offeredTools(use, holder: holder),
                holder: holder.map { ToolLoop.Holder(instance: $0, lent: $0.own.delegation) })
        }
        guard let session = parameters.session else {
            return try startDirect(id: id, agent: agent, owner: owner, priority: priority, parameters: parameters, loop: loop, sink: sink)
        }
        return try startInSession(session, id: id, agent: agent, owner: owner, priority: priority, parameters: parameters, tools: tools, sink: sink) {
            [self] (built, exchange) throws(KernelError) in
            try startDirect(id: id, agent: agent, owner: owner, priority: priority, parameters: built, loop: loop, sink: exchange)
        }
    }

    /// A tool loop's tools, chosen before it starts.
    private struct ToolLoopPlan {
        let use: ToolUse
        let offered: [ToolDefinition]
        let holder: ToolLoop.Holder?
    }

    /// `start` without a session.
    private func startDirect(
        id: UInt64, agent: String, owner: UInt64, priority: Int, parameters: InferenceParameters,
        loop plan: ToolLoopPlan?, sink: InferenceSink
    ) throws(KernelError) -> InferenceHandle {
        guard let plan else {
            let request = InferenceRequest(
                id: id, agent: agent, owner: owner, priority: priority, parameters: parameters,
                submittedAt: monotonicNanos(), sink: sink)
            try submitTurn(request)
            return request
        }
        var parameters = parameters
        parameters.tools = plan.offered
        parameters.toolChoice = plan.use.choice
        // An agent's infer_submit hears the outcome through its mailbox, also after a restart.
        let reply: RunReply = owner == 0 ? .control : sink is MailboxInferenceSink ? .mailbox : .caller
        let loop = ToolLoop(
            id: id, service: self, tools: self.tools, runs: runs, agent: agent, owner: owner, priority: priority,
            parameters: parameters, use: plan.use, holder: plan.holder, reply: reply, sink: sink)
        toolLoops.withLock { $0[id] = loop }
        do { try loop.start() } catch {
            toolLoopEnded(loop)
            throw error
        }
        return loop
    }

    /// The tools `use` names that `holder` may call, as the model sees them;
    /// those it may not are withheld, and each withholding is audited.
    /// Throws when it names none, `holder` may call none of them, or `use` is malformed.
    private func offeredTools(_ use: ToolUse, holder: Instance?) throws(KernelError) -> [ToolDefinition] {
        guard !use.patterns.isEmpty, use.patterns.count <= ToolUse.maxPatterns else {
            throw KernelError(.invalidArgument, "\(use.patterns.count) tool patterns: give 1 to \(ToolUse.maxPatterns)")
        }
        guard (1...ToolUse.maxMaxSteps).contains(use.maxSteps) else {
            throw KernelError(.invalidArgument, "max_steps \(use.maxSteps) is out of range 1...\(ToolUse.maxMaxSteps)")
        }
        if let bad = use.patterns.first(where: { $0.isEmpty || $0.utf8.count > 128 }) {
            throw KernelError(.invalidArgument, "tool pattern \"\(bad.prefix(40))\" must be 1 to 128 bytes")
        }
        var matched = tools.toolDescriptions(matching: use.patterns)
        guard !matched.isEmpty else {
            throw KernelError(.toolNotFound, "no loaded tool matches \(use.patterns.joined(separator: ", ")) (see `agentctl tools`)")
        }
        if let holder, holder.checksPolicy {
            let withheld = matched.filter { !holder.permitsTool($0.name) }
            for tool in withheld {
                holder.deny(.tool(tool.name), syscall: "tool_loop", reason: "\(tool.name) withheld from the model: \(holder.name) does not hold tool:\(tool.name)")
            }
            matched.removeAll { tool in withheld.contains { $0.name == tool.name } }
            guard !matched.isEmpty else {
                throw KernelError(.permissionDenied, "\(holder.name) may call none of the tools matching \(use.patterns.joined(separator: ", ")) (grant tool:NAME with `agentctl grant \(holder.name)` or in policy.yaml)")
            }
        }
        return matched.map { ToolDefinition(name: $0.name, description: $0.description, parameters: $0.parameters.jsonText) }
    }

    /// Called once by a tool loop as it ends.
    func toolLoopEnded(_ loop: ToolLoop) {
        toolLoops.withLock { _ = $0.removeValue(forKey: loop.id) }
    }

    /// Logs one of a tool loop's calls, in the agent's log when it is an instance.
    func logToolCall(_ record: ToolCallRecord, agent: String, owner: UInt64, request: UInt64) {
        let milliseconds = String(format: "%.2f", Double(record.durationNanos) / 1e6)
        let line: String
        switch record.outcome {
        case .success(let json): line = "request \(request): \(record.tool)(\(record.arguments.prefix(200))) → \(json.prefix(200)) in \(milliseconds) ms"
        case .failure(let error): line = "request \(request): \(record.tool)(\(record.arguments.prefix(200))) failed: \(error.message) in \(milliseconds) ms"
        }
        if owner != 0, let instance = table.liveInstances.first(where: { $0.id == owner }) {
            instance.log.append(.info, .kernel, line)
        }
        logger.info("tool call", metadata: ["agent": "\(agent)", "request": "\(request)", "tool": "\(record.tool)", "ms": "\(milliseconds)"])
    }

    /// Checks `request` against the limits and the engine, then queues it.
    func submitTurn(_ request: InferenceRequest) throws(KernelError) {
        guard let engine else {
            throw KernelError(.engineUnavailable, "no inference engine: agentosd was started with --engine none")
        }
        try request.parameters.validate()
        request.prepared = try engine.prepare(request.parameters)
        try scheduler.submit(request)
    }

    /// Logs why a syscall failed in the instance's log (the status alone cannot say) and returns its status.
    private func refuse(_ instance: Instance, _ syscall: String, _ error: KernelError, request: UInt64? = nil) -> AOSStatus {
        let subject = request.map { "\(syscall) request \($0)" } ?? syscall
        instance.log.append(.warn, .kernel, "\(subject): \(error.message) (\(error.status.name))")
        LastError.record(error.message)
        return error.status
    }

    /// Cancels every request and tool loop of instance `owner` (its unload; its runs end `agent_gone`).
    func cancelAll(owner: UInt64) {
        for waiter in sessions.waiting(owner: owner) { waiter.cancel() }
        for loop in toolLoops.withLock({ $0.values.filter { $0.owner == owner } }) { loop.cancel() }
        scheduler.cancelAll(owner: owner)
    }
}
