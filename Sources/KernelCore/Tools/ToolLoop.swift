import Glibc
import Dispatch
import Synchronization
import Tools
import StrictJSON

/// A running inference the caller can name and cancel: one request, or a tool loop.
public protocol InferenceHandle: AnyObject, Sendable {
    var id: UInt64 { get }
    func cancel()
}

extension InferenceRequest: InferenceHandle {}

/// What a request asks of the tool loop.
public struct ToolUse: Sendable, Equatable {
    /// Tool names or globs ("catalog.*").
    public var patterns: [String]
    public var choice: ToolChoice
    /// Model turns at most.
    public var maxSteps: Int

    public init(patterns: [String], choice: ToolChoice = .auto, maxSteps: Int = ToolUse.defaultMaxSteps) {
        self.patterns = patterns
        self.choice = choice
        self.maxSteps = maxSteps
    }

    public static let defaultMaxSteps = 8
    public static let maxMaxSteps = 32
    public static let maxPatterns = 64
}

/// The tool loop of one request: asks the model, runs the tools it calls
/// (checking their arguments like any call), feeds the results back, and
/// repeats until the model answers or `maxSteps` turns pass (`.toolStepLimit`).
///
/// A call identical to an earlier one (same tool, same arguments) is not run
/// again: the model is told so and its next turn must answer. Small models
/// fall into such loops once they have what they need; a model that still
/// repeats itself ends the loop with `.toolLoop`.
///
/// Every loop is a durable run (`RunService`): its request is recorded
/// before the first turn, each model turn that calls tools before the first
/// of them runs, and each call's outcome before the next call; the end is
/// recorded too. A loop made from a stored run (`resume`) replays those
/// steps and goes on from the last one; a call that started but whose
/// outcome was not stored is never run again (the model reads that its
/// outcome is unknown).
///
/// A call of a tool that needs approval (AOS_TOOL_NEEDS_APPROVAL) pauses the
/// run (`awaiting_approval`) until `decide`: approved, the call runs;
/// rejected, the model reads the rejection as the call's result. A
/// cancel, or its agent's unload (`agent_gone`), ends a paused run at once.
///
/// Every turn is an ordinary request through the scheduler (same id, so
/// logs and `infer_cancel` name the whole loop); between turns the tools run
/// on a GCD thread, never on the engine's. `sink` gets the answer's pieces
/// and one `finished` with the final text, summed usage and every call in
/// `steps`. Thread-safe.
final class ToolLoop: InferenceSink, InferenceHandle, @unchecked Sendable {
    let id: UInt64
    private unowned let service: InferenceService
    private let tools: ToolService
    private let runs: RunService
    private let agent: String
    /// The instance that may cancel it; 0 for the control API.
    let owner: UInt64
    private let priority: Int
    private let offered: Set<String>
    private let use: ToolUse
    /// The instance whose rights the calls use, and what its request lent it; nil for the control API.
    private let holder: Holder?
    private let reply: RunReply
    private let sink: InferenceSink
    private let startedAt = monotonicNanos()

    private struct State {
        var parameters: InferenceParameters
        var turn = 0
        var steps: [ToolCallRecord] = []
        var usage = InferenceUsage()
        var seen: Set<String> = []
        /// Set after a repeated call: the next turn must answer.
        var mustAnswer = false
        /// The last model turn: its text, its calls not run yet, and those
        /// run (with their results) for the chat.
        var turnText = ""
        var pending: [ToolCallRequest] = []
        var made: [ToolCallRequest] = []
        var results: [ChatMessage] = []
        /// The call waiting for an operator's approval; the loop is paused while it is set.
        var awaiting: ToolCallRequest?
        var current: InferenceRequest?
        var cancelled = false
        var finished = false
    }

    private let state: Mutex<State>

    init(
        id: UInt64, service: InferenceService, tools: ToolService, runs: RunService, agent: String, owner: UInt64, priority: Int,
        parameters: InferenceParameters, use: ToolUse, holder: Holder?, reply: RunReply, sink: InferenceSink
    ) {
        self.holder = holder
        self.id = id
        self.service = service
        self.tools = tools
        self.runs = runs
        self.agent = agent
        self.owner = owner
        self.priority = priority
        self.offered = Set(parameters.tools.map(\.name))
        self.use = use
        self.reply = reply
        self.sink = sink
        self.state = Mutex(State(parameters: parameters))
    }

    /// Records the run and queues the first turn. Throws why it cannot be queued.
    func start() throws(KernelError) {
        let request = state.withLock { RunRequest(parameters: $0.parameters, maxSteps: use.maxSteps) }
        runs.begin(id: id, agent: agent, reply: reply, request: request)
        do throws(KernelError) {
            try service.submitTurn(makeTurn())
        } catch {
            runs.update(id, .failed, error: error)
            throw error
        }
    }

    /// Goes on with a stored run from its last step (on a GCD thread): a
    /// call of the last model turn without a stored outcome is the one that
    /// may have run, and gets an error result instead of running again; the
    /// calls after it run, then the model is asked again. With
    /// `awaitingApproval`, that call never started: it waits for approval again.
    func resume(from steps: [RunStep], awaitingApproval: Bool) {
        let uncertain = state.withLock { state -> ToolCallRequest? in
            for step in steps {
                switch step {
                case .model(let text, let calls, let usage):
                    Self.closeTurn(&state)
                    // The turns before the restart count in the run's totals.
                    state.usage.promptTokens += usage.promptTokens
                    state.usage.cachedPromptTokens += usage.cachedPromptTokens
                    state.usage.completionTokens += usage.completionTokens
                    state.turn += 1
                    state.turnText = text
                    state.pending = calls
                case .tool(let call, let outcome, let duration):
                    guard !state.pending.isEmpty else { continue }
                    state.pending.removeFirst()
                    let repeated = !state.seen.insert(Self.signature(call)).inserted
                    if repeated { state.mustAnswer = true }
                    Self.add(
                        call, ToolCallRecord(tool: call.name, arguments: call.arguments, outcome: outcome, durationNanos: duration),
                        repeated: repeated, to: &state)
                }
            }
            guard !state.pending.isEmpty else { return nil }
            let call = state.pending.removeFirst()
            state.seen.insert(Self.signature(call))
            if awaitingApproval { state.awaiting = call }
            return call
        }
        if awaitingApproval && uncertain != nil { return }
        DispatchQueue.global().async {
            if let uncertain {
                let unknown = KernelError(.toolFailed, "the kernel stopped while \(uncertain.name) ran; its outcome is unknown and it was not run again")
                self.finishCall(
                    uncertain, ToolCallRecord(tool: uncertain.name, arguments: uncertain.arguments, outcome: .failure(unknown), durationNanos: 0),
                    repeated: false)
            }
            self.runCalls()
        }
    }

    func cancel() {
        let (current, paused) = state.withLock { state -> (InferenceRequest?, Bool) in
            state.cancelled = true
            defer { state.awaiting = nil }
            return (state.current, state.awaiting != nil)
        }
        current?.cancel()
        if paused { end(.success(("", .cancelled))) }
    }

    /// The operator's decision on the call the run waits for: approved, it
    /// runs; rejected, the model reads the rejection (and `comment`) as its
    /// result. Then the loop goes on, on a GCD thread. False when no call waits.
    func decide(approve: Bool, comment: String?) -> Bool {
        guard let call = state.withLock({ state -> ToolCallRequest? in
            defer { state.awaiting = nil }
            return state.awaiting
        }) else { return false }
        runs.update(id, .running)
        service.logger.notice(
            "run \(id): the call of \(call.name) was \(approve ? "approved" : "rejected")\(comment.map { ": \($0)" } ?? "")")
        DispatchQueue.global().async {
            let record = if approve {
                self.tools.callTool(
                    call.name, arguments: call.arguments, deadline: deadline(afterMilliseconds: self.service.configuration.toolTimeoutMs))
            } else {
                ToolCallRecord(
                    tool: call.name, arguments: call.arguments,
                    outcome: .failure(KernelError(
                        .permissionDenied, "the operator rejected this call of \(call.name)\(comment.map { ": \($0)" } ?? "")")),
                    durationNanos: 0)
            }
            self.finishCall(call, record, repeated: false)
            self.runCalls()
        }
        return true
    }

    // MARK: InferenceSink (each turn's output)

    func received(_ piece: String) {
        sink.received(piece)  // engines send only answer text, never a tool call's
    }

    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        DispatchQueue.global().async { self.advance(outcome) }
    }

    // MARK: The loop

    private func makeTurn() -> InferenceRequest {
        state.withLock { state in
            var parameters = state.parameters
            if state.turn > 0 { parameters.toolChoice = state.mustAnswer ? .none : .auto }
            let request = InferenceRequest(
                id: id, agent: agent, owner: owner, priority: priority, parameters: parameters,
                submittedAt: monotonicNanos(), sink: self)
            state.current = request
            return request
        }
    }

    private func advance(_ outcome: Result<InferenceResult, KernelError>) {
        let result: InferenceResult
        switch outcome {
        case .failure(let error): return end(.failure(error))
        case .success(let value): result = value
        }
        let (cancelled, turn) = state.withLock { state in
            state.usage.promptTokens += result.usage.promptTokens
            state.usage.cachedPromptTokens += result.usage.cachedPromptTokens
            state.usage.completionTokens += result.usage.completionTokens
            state.usage.queueNanos += result.usage.queueNanos
            state.usage.engineNanos += result.usage.engineNanos
            if state.turn == 0 { state.usage.timeToFirstTokenNanos = result.usage.timeToFirstTokenNanos }
            state.turn += 1
            return (state.cancelled, state.turn)
        }
        if result.toolCalls.isEmpty || result.finishReason == .cancelled || cancelled {
            return end(.success((result.text, cancelled ? .cancelled : result.finishReason)))
        }
        guard turn < use.maxSteps else {
            return end(.failure(KernelError(.toolStepLimit, "the model did not answer within \(use.maxSteps) turns (max_steps); it kept calling tools")))
        }
        runs.record(id, .model(text: result.text, calls: result.toolCalls, usage: RunStepUsage(result.usage)))
        state.withLock { state in
            state.turnText = result.text
            state.pending = result.toolCalls
        }
        runCalls()
    }

    /// Runs the last model turn's calls not run yet, in order, then asks the model again.
    private func runCalls() {
        while let call = state.withLock({ $0.pending.isEmpty ? nil : $0.pending.removeFirst() }) {
            let (repeated, warned) = state.withLock { state in
                let repeated = !state.seen.insert(Self.signature(call)).inserted
                defer { if repeated { state.mustAnswer = true } }
                return (repeated, state.mustAnswer)
            }
            if repeated && warned {
                return end(.failure(KernelError(.toolLoop, "the model repeated the call \(call.name)(\(call.arguments.prefix(200))) after it was told to answer; stopped to avoid a loop")))
            }
            let record: ToolCallRecord
            if repeated {
                record = ToolCallRecord(
                    tool: call.name, arguments: call.arguments,
                    outcome: .failure(KernelError(.toolLoop, "\(call.name) was already called with these arguments; not run again, the model must answer")),
                    durationNanos: 0)
            } else if let refusal = holder?.admit(call.name) {
                record = ToolCallRecord(tool: call.name, arguments: call.arguments, outcome: .failure(refusal), durationNanos: 0)
            } else if !offered.contains(call.name) {
                record = ToolCallRecord(
                    tool: call.name, arguments: call.arguments,
                    outcome: .failure(KernelError(.toolNotFound, "tool \(call.name) was not offered to the model")), durationNanos: 0)
            } else if tools.needsApproval(call.name) {
                return pause(before: call)
            } else {
                record = tools.callTool(call.name, arguments: call.arguments, deadline: deadline(afterMilliseconds: service.configuration.toolTimeoutMs))
            }
            finishCall(call, record, repeated: repeated)
        }
        let stopped = state.withLock { state -> Bool in
            Self.closeTurn(&state)
            return state.cancelled
        }
        if stopped { return end(.success(("", .cancelled))) }
        do throws(KernelError) { try service.submitTurn(makeTurn()) } catch { end(.failure(error)) }
    }

    /// Pauses the run before `call` until `decide` (or a cancel ends it).
    /// The record says so first, so a decision never precedes it.
    private func pause(before call: ToolCallRequest) {
        runs.update(id, .awaitingApproval)
        let cancelled = state.withLock { state -> Bool in
            if !state.cancelled { state.awaiting = call }
            return state.cancelled
        }
        if cancelled { return end(.success(("", .cancelled))) }
        let line = "request \(id): \(call.name)(\(call.arguments.prefix(200))) waits for approval (agentctl runs approve|reject \(id))"
        if owner != 0, let instance = service.table.liveInstances.first(where: { $0.id == owner }) {
            instance.log.append(.info, .kernel, line)
        }
        service.logger.notice("\(line)")
    }

    /// Logs, traces, checkpoints and reports one call.
    private func finishCall(_ call: ToolCallRequest, _ record: ToolCallRecord, repeated: Bool) {
        service.logToolCall(record, agent: agent, owner: owner, request: id)
        service.scheduler.traces.recordTool(record, request: id, agent: agent, endedAt: monotonicNanos())
        runs.record(id, .tool(call: call, outcome: record.outcome, durationNanos: record.durationNanos))
        state.withLock { Self.add(call, record, repeated: repeated, to: &$0) }
        sink.calledTool(record)
    }

    /// Adds a call's record to the steps and, unless it repeated an earlier
    /// call, the call and its result to the turn's replies: a repeated call
    /// stays out of the chat (it adds nothing the model has not seen), so the
    /// forced answer follows the results.
    private static func add(_ call: ToolCallRequest, _ record: ToolCallRecord, repeated: Bool, to state: inout State) {
        state.steps.append(record)
        guard !repeated else { return }
        state.made.append(call)
        state.results.append(ChatMessage(role: "tool", content: feedback(record.outcome), toolCallID: call.id))
    }

    /// Moves the last model turn's calls that ran, and their results, into the chat.
    private static func closeTurn(_ state: inout State) {
        if !state.made.isEmpty {
            state.parameters.messages += [ChatMessage(role: "assistant", content: state.turnText, toolCalls: state.made)] + state.results
        }
        state.made = []
        state.results = []
        state.pending = []
    }

    private func end(_ outcome: Result<(text: String, reason: FinishReason), KernelError>) {
        let ending = state.withLock { state -> (steps: [ToolCallRecord], usage: InferenceUsage)? in
            guard !state.finished else { return nil }
            state.finished = true
            state.current = nil
            state.usage.totalNanos = monotonicNanos() &- startedAt
            return (state.steps, state.usage)
        }
        guard let ending else { return }
        // A run cut short while its agent stops (its unload cancels it) ends agent_gone.
        let cutShort = switch outcome {
        case .success(let answer): answer.reason == .cancelled
        case .failure(let error): error.code == .cancelled || error.code == .stopping
        }
        switch outcome {
        case _ where cutShort && holder?.instance.stopRequested.load(ordering: .relaxed) == true:
            runs.update(id, .agentGone, error: KernelError(.stopping, "\(agent) was unloaded during the run"))
        case .success(let answer) where answer.reason == .cancelled: runs.update(id, .cancelled)
        case .success(let answer): runs.update(id, .completed, answer: answer.text)
        case .failure(let error) where error.code == .cancelled: runs.update(id, .cancelled, error: error)
        case .failure(let error): runs.update(id, .failed, error: error)
        }
        service.toolLoopEnded(self)
        sink.finished(outcome.map { answer in
            InferenceResult(
                requestID: id, text: answer.text, finishReason: answer.reason, usage: ending.usage, steps: ending.steps)
        })
    }

    /// What the model reads as a tool's result: its JSON, or {"error": "…"}.
    static func feedback(_ outcome: Result<String, KernelError>) -> String {
        switch outcome {
        case .success(let json): json
        case .failure(let error): JSONValue.object([("error", .string(error.message))]).jsonText
        }
    }

    /// A call in one spelling (tool and canonical arguments), to spot repeats.
    private static func signature(_ call: ToolCallRequest) -> String {
        call.name + " " + canonical(call.arguments)
    }

    /// Arguments text in one spelling, so whitespace or key order does not hide a repeat.
    private static func canonical(_ arguments: String) -> String {
        guard case .object(let members)? = try? JSONParser.parse(arguments) else { return arguments }
        return JSONValue.object(members.sorted { $0.key < $1.key }).jsonText
    }
}

extension ToolLoop {
    /// The rights a loop's calls are checked against: the instance's grants
    /// as they are at each call (a revoke applies at once), and what the
    /// request that started the loop lent it.
    struct Holder: Sendable {
        let instance: Instance
        let lent: CapabilitySet?

        /// Checks the model's call of `tool` against the instance's capabilities
        /// and its tool_calls_per_minute quota, waiting for that budget (on this
        /// GCD thread) when needed. Returns why the call is refused (audited), or nil.
        func admit(_ tool: String) -> KernelError? {
            if instance.checksPolicy,
               !instance.grants.withLock({ $0.permitsTool(tool) }), lent?.permitsTool(tool) != true {
                let reason = "the model called \(tool), which \(instance.name) does not hold (tool:\(tool)); refused"
                instance.deny(.tool(tool), syscall: "tool_loop", reason: reason)
                return KernelError(.permissionDenied, "permission denied: \(instance.name) may not call \(tool)")
            }
            guard let wait = instance.admitToolCall() else {
                let reason = instance.toolRateRefusal
                instance.refuseQuota("tool_calls_per_minute", syscall: "tool_loop", reason: reason)
                return KernelError(.quotaExceeded, reason)
            }
            if wait > 0 { usleep(useconds_t(min(wait / 1000, UInt64(UInt32.max)))) }
            return nil
        }
    }
}

extension InferenceResult {
    /// `steps` as the JSON array agents and logs read: one
    /// {"tool", "arguments", "result" or "error", "duration_ns"} per call; nil without tools.
    public var traceJSON: String? {
        steps.map { JSONValue.array($0.map(\.traceEntry)).jsonText }
    }
}

extension ToolCallRecord {
    /// One step of a trace, as JSON.
    public var traceEntry: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("tool", .string(tool)),
            ("arguments", (try? JSONParser.parse(arguments)) ?? .string(arguments)),
        ]
        switch outcome {
        case .success(let json): members.append(("result", (try? JSONParser.parse(json)) ?? .string(json)))
        case .failure(let error):
            members.append(("error", .object([("code", .string(error.code.rawValue)), ("message", .string(error.message))])))
        }
        members.append(("duration_ns", .unsigned(durationNanos)))
        return .object(members)
    }
}
