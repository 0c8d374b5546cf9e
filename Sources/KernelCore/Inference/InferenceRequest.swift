import Synchronization

/// Receives what the engine produces for one request.
///
/// Called on an engine thread: implementations must not block. Exactly one
/// `finished` follows zero or more `received` calls.
public protocol InferenceSink: AnyObject, Sendable {
    /// A piece of generated text: whole UTF-8 characters, never empty.
    func received(_ piece: String)
    func finished(_ outcome: Result<InferenceResult, KernelError>)
    /// A tool loop ran one of the model's tool calls (before the next turn).
    func calledTool(_ record: ToolCallRecord)
}

extension InferenceSink {
    public func calledTool(_ record: ToolCallRecord) {}
}

/// One inference request on its way through the scheduler and the engine.
///
/// Created by the kernel, queued by `InferenceScheduler`, run by an engine.
/// The engine reports progress with `markStarted`, `record`, `finish` and
/// `fail`; the first `finish` or `fail` wins. Thread-safe.
public final class InferenceRequest: @unchecked Sendable {
    public let id: UInt64
    /// The agent it is accounted to: an instance name, or "agentctl".
    public let agent: String
    /// The instance that may cancel it; 0 for the control API.
    public let owner: UInt64
    /// Higher runs first under the priority policy.
    public let priority: Int
    public let parameters: InferenceParameters
    /// Monotonic ns.
    public let submittedAt: UInt64

    private struct Progress {
        var text = ""
        var usage = InferenceUsage()
        var startedAt: UInt64 = 0
        var finished = false
        var cancelHandler: (@Sendable () -> Void)?
        var prepared: (any PreparedInference)?
    }

    private let progress = Mutex(Progress())
    private let cancelFlag = Atomic<Bool>(false)
    private let sink: InferenceSink
    /// Set by the scheduler: accounting once the request ends.
    var onEnd: (@Sendable (InferenceRequest, Result<InferenceResult, KernelError>) -> Void)?
    /// Set by the scheduler: on `cancel`, takes the request out of its queue
    /// and finishes it when it is still queued.
    var onCancelWhileQueued: (@Sendable (InferenceRequest) -> Void)?

    public init(
        id: UInt64, agent: String, owner: UInt64, priority: Int, parameters: InferenceParameters,
        submittedAt: UInt64, sink: InferenceSink
    ) {
        self.id = id
        self.agent = agent
        self.owner = owner
        self.priority = priority
        self.parameters = parameters
        self.submittedAt = submittedAt
        self.sink = sink
    }

    /// What the engine made of `parameters` when the request was submitted
    /// (`InferenceEngine.prepare`), for the engine thread to use instead of
    /// preparing it again; nil when nothing was prepared. Set before the request is queued.
    public var prepared: (any PreparedInference)? {
        get { progress.withLock { $0.prepared } }
        set { progress.withLock { $0.prepared = newValue } }
    }

    /// True once `cancel` was called; the engine stops at its next step.
    public var isCancelled: Bool { cancelFlag.load(ordering: .relaxed) }

    /// Stops this request: a queued one leaves the queue and finishes as
    /// `.cancelled` at once, never reaching the engine; a running one
    /// finishes as `.cancelled` at the engine's next step.
    public func cancel() {
        guard !cancelFlag.exchange(true, ordering: .relaxed) else { return }
        onCancelWhileQueued?(self)
        let handler = progress.withLock { $0.finished ? nil : $0.cancelHandler }
        handler?()
    }

    /// Runs `handler` when the request is cancelled (at once if it already is).
    /// For engines that must interrupt a wait, such as an HTTP stream.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        progress.withLock { $0.cancelHandler = handler }
        if isCancelled { handler() }
    }

    /// The engine took the request: its queue time ends.
    public func markStarted(at now: UInt64) {
        progress.withLock {
            $0.startedAt = now
            $0.usage.queueNanos = now &- submittedAt
        }
    }

    /// The prompt is `count` tokens, `cached` of them reused from the engine's cache.
    public func setPromptTokens(_ count: Int, cached: Int = 0) {
        progress.withLock {
            $0.usage.promptTokens = count
            $0.usage.cachedPromptTokens = cached
        }
    }

    /// `tokens` more were generated, producing `piece` (possibly empty while a
    /// character is incomplete or a stop string may be starting). A request
    /// that requires a tool call streams nothing: its text is either the call
    /// or prose that `finish` turns into `.toolCallMissing`.
    public func record(tokens: Int, piece: String, at now: UInt64) {
        let deliver = progress.withLock { progress -> Bool in
            guard !progress.finished else { return false }
            if progress.usage.completionTokens == 0, tokens > 0 {
                progress.usage.timeToFirstTokenNanos = now &- submittedAt
            }
            progress.usage.completionTokens += tokens
            progress.text += piece
            return !piece.isEmpty && !requiresToolCall
        }
        if deliver { sink.received(piece) }
    }

    /// Ends the request with its text so far, and the tools the model called.
    /// A request that required a tool call and got none fails with
    /// `.toolCallMissing` instead: never a plain answer in its place.
    public func finish(_ reason: FinishReason, toolCalls: [ToolCallRequest] = [], at now: UInt64) {
        if reason != .cancelled, toolCalls.isEmpty, requiresToolCall {
            let why = reason == .length ? "max_tokens ended the answer before a complete call" : "the model answered without calling one"
            return fail(KernelError(.toolCallMissing, "a tool call was required but none was made: \(why) (an OpenAI-compatible server may ignore tools: try --engine-tools kernel)"))
        }
        let result = progress.withLock { progress -> InferenceResult? in
            guard !progress.finished else { return nil }
            progress.finished = true
            progress.usage.totalNanos = now &- submittedAt
            if progress.startedAt == 0 { progress.usage.queueNanos = progress.usage.totalNanos }
            progress.usage.engineNanos = progress.usage.totalNanos &- progress.usage.queueNanos
            return InferenceResult(
                requestID: id, text: progress.text, finishReason: reason, usage: progress.usage, toolCalls: toolCalls)
        }
        guard let result else { return }
        end(.success(result))
    }

    /// Ends the request with an error.
    public func fail(_ error: KernelError) {
        let first = progress.withLock { progress -> Bool in
            defer { progress.finished = true }
            return !progress.finished
        }
        if first { end(.failure(error)) }
    }

    private var requiresToolCall: Bool { parameters.toolChoice == .required && !parameters.tools.isEmpty }

    public var isFinished: Bool { progress.withLock { $0.finished } }

    private func end(_ outcome: Result<InferenceResult, KernelError>) {
        onEnd?(self, outcome)
        sink.finished(outcome)
    }
}
