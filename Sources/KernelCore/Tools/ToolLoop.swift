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
/// Every turn is an ordinary request through the scheduler (same id, so
/// logs and `infer_cancel` name the whole loop); between turns the tools run
/// on a GCD thread, never on the engine's. `sink` gets the answer's pieces
/// and one `finished` with the final text, summed usage and every call in
/// `steps`. Thread-safe.
final class ToolLoop: InferenceSink, InferenceHandle, @unchecked Sendable {
    let id: UInt64
    private unowned let service: InferenceService
    private let tools: ToolService
    private let agent: String
    /// The instance that may cancel it; 0 for the control API.
    let owner: UInt64
    private let priority: Int
    private let offered: Set<String>
    private let use: ToolUse
    /// The instance whose rights the calls use, and what its request lent it; nil for the control API.
    private let holder: Holder?
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
        var current: InferenceRequest?
        var cancelled = false
        var finished = false
    }

    private let state: Mutex<State>

    init(
        id: UInt64, service: InferenceService, tools: ToolService, agent: String, owner: UInt64, priority: Int,
        parameters: InferenceParameters, use: ToolUse, holder: Holder?, sink: InferenceSink
    ) {
        self.holder = holder
        self.id = id
        self.service = service
        self.tools = tools
        self.agent = agent
        self.owner = owner
        self.priority = priority
        self.offered = Set(parameters.tools.map(\.name))
        self.use = use
        self.sink = sink
        self.state = Mutex(State(parameters: parameters))
    }

    /// Queues the first turn. Throws why it cannot be queued.
    func start() throws(KernelError) {
        try service.submitTurn(makeTurn())
    }

    func cancel() {
        let current = state.withLock { state -> InferenceRequest? in
            state.cancelled = true
            return state.current
        }
        current?.cancel()
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
        // A repeated call is not run again and stays out of the chat (it adds
        // nothing the model has not seen), so the forced answer follows the results.
        var made: [ToolCallRequest] = []
        var results: [ChatMessage] = []
        for call in result.toolCalls {
            let signature = call.name + " " + Self.canonical(call.arguments)
            let (repeated, warned) = state.withLock { state in
                let repeated = !state.seen.insert(signature).inserted
                defer { if repeated { state.mustAnswer = true } }
                return (repeated, state.mustAnswer)
            }
            if repeated && warned {
                return end(.failure(KernelError(.toolLoop, "the model repeated the call \(call.name)(\(call.arguments.prefix(200))) after it was told to answer; stopped to avoid a loop")))
            }
            let record = if repeated {
                ToolCallRecord(
                    tool: call.name, arguments: call.arguments,
                    outcome: .failure(KernelError(.toolLoop, "\(call.name) was already called with these arguments; not run again, the model must answer")),
                    durationNanos: 0)
            } else if let refusal = holder?.admit(call.name) {
                ToolCallRecord(tool: call.name, arguments: call.arguments, outcome: .failure(refusal), durationNanos: 0)
            } else if offered.contains(call.name) {
                tools.callTool(call.name, arguments: call.arguments, deadline: deadline(afterMilliseconds: service.configuration.toolTimeoutMs))
            } else {
                ToolCallRecord(
                    tool: call.name, arguments: call.arguments,
                    outcome: .failure(KernelError(.toolNotFound, "tool \(call.name) was not offered to the model")), durationNanos: 0)
            }
            service.logToolCall(record, agent: agent, owner: owner, request: id)
            service.scheduler.traces.recordTool(record, request: id, agent: agent, endedAt: monotonicNanos())
            state.withLock { $0.steps.append(record) }
            sink.calledTool(record)
            if !repeated {
                made.append(call)
                results.append(ChatMessage(role: "tool", content: Self.feedback(record.outcome), toolCallID: call.id))
            }
        }
        let replies = made.isEmpty ? [] : [ChatMessage(role: "assistant", content: result.text, toolCalls: made)] + results
        let stopped = state.withLock { state -> Bool in
            state.parameters.messages += replies
            return state.cancelled
        }
        if stopped { return end(.success(("", .cancelled))) }
        do throws(KernelError) { try service.submitTurn(makeTurn()) } catch { end(.failure(error)) }
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
