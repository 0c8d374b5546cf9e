import CAgentOS
import Glibc

extension InferenceParameters {
    /// Messages one request may carry.
    static let maxMessages = 1024

    /// Reads an `aos_infer_request` from a plugin, copying every string.
    /// Returns the parameters, the request's own priority and its tool use
    /// (nil without tools), or an `.invalidArgument` error naming the bad field.
    static func fromABI(_ request: UnsafePointer<aos_infer_request>?) -> Result<(InferenceParameters, Int, ToolUse?), KernelError> {
        func invalid(_ message: String) -> Result<(InferenceParameters, Int, ToolUse?), KernelError> {
            .failure(KernelError(.invalidArgument, message))
        }
        guard let request else { return invalid("request is NULL") }
        // ABI 1.1's struct ends where 1.2 appended `tools`; read the rest only when the caller has it.
        let minimum = MemoryLayout<aos_infer_request>.offset(of: \aos_infer_request.tools)!
        let size = Int(request.pointee.struct_size)
        guard size >= minimum else {
            return invalid("request struct_size \(size) is smaller than ABI 1.1's aos_infer_request (\(minimum))")
        }
        var fields = aos_infer_request()
        withUnsafeMutableBytes(of: &fields) { $0.copyMemory(from: UnsafeRawBufferPointer(start: request, count: min(size, MemoryLayout<aos_infer_request>.size))) }
        guard fields.n_messages > 0, let cMessages = fields.messages else { return invalid("no messages") }
        guard fields.n_messages <= maxMessages else { return invalid("\(fields.n_messages) messages: at most \(maxMessages)") }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(Int(fields.n_messages))
        for index in 0..<Int(fields.n_messages) {
            let message = cMessages[index]
            guard let role = message.role, let content = message.content else {
                return invalid("message \(index) has a NULL role or content")
            }
            guard let roleText = String(validatingCString: role), let contentText = String(validatingCString: content) else {
                return invalid("message \(index) is not valid UTF-8")
            }
            messages.append(ChatMessage(role: roleText, content: contentText))
        }
        var parameters = InferenceParameters(messages: messages, maxTokens: Int(fields.max_tokens))
        parameters.temperature = fields.temperature
        parameters.topP = fields.top_p == 0 ? 1 : fields.top_p
        parameters.seed = fields.seed
        if fields.n_stop > 0 {
            guard let stop = fields.stop else { return invalid("n_stop is \(fields.n_stop) but stop is NULL") }
            guard fields.n_stop <= UInt32(maxStopStrings) else { return invalid("\(fields.n_stop) stop strings: at most \(maxStopStrings)") }
            for index in 0..<Int(fields.n_stop) {
                guard let string = stop[index], let text = String(validatingCString: string) else {
                    return invalid("stop string \(index) is NULL or not valid UTF-8")
                }
                parameters.stop.append(text)
            }
        }
        switch (fields.grammar, fields.json_schema) {
        case (.some, .some): return invalid("grammar and json_schema are both set: choose one")
        case (let grammar?, nil):
            guard let text = String(validatingCString: grammar) else { return invalid("grammar is not valid UTF-8") }
            parameters.constraint = .grammar(text)
        case (nil, let schema?):
            guard let text = String(validatingCString: schema) else { return invalid("json_schema is not valid UTF-8") }
            parameters.constraint = .jsonSchema(text)
        case (nil, nil): break
        }
        // ABI 1.10's session fields: zero (none) when the caller's struct ends before them.
        let sessionEnd = MemoryLayout<aos_infer_request>.offset(of: \aos_infer_request.session_busy)!
        if size >= sessionEnd, let session = fields.session {
            guard let text = String(validatingCString: session) else { return invalid("session is not valid UTF-8") }
            do { try SessionService.validate(text) } catch { return .failure(error) }
            parameters.session = text
            switch fields.session_policy {
            case AOS_SESSION_KEEP_RECENT: parameters.sessionPolicy = .keepRecent
            case AOS_SESSION_SUMMARIZE: parameters.sessionPolicy = .summarize
            default: return invalid("session_policy \(fields.session_policy) is not an AOS_SESSION_* value")
            }
            switch size >= MemoryLayout<aos_infer_request>.size ? fields.session_busy : AOS_SESSION_BUSY_ENQUEUE {
            case AOS_SESSION_BUSY_ENQUEUE: parameters.sessionWhenBusy = .enqueue
            case AOS_SESSION_BUSY_REJECT: parameters.sessionWhenBusy = .reject
            case AOS_SESSION_BUSY_INTERRUPT: parameters.sessionWhenBusy = .interrupt
            default: return invalid("session_busy \(fields.session_busy) is not an AOS_SESSION_BUSY_* value")
            }
        }
        guard fields.n_tools > 0 else { return .success((parameters, Int(fields.priority), nil)) }
        guard let tools = fields.tools else { return invalid("n_tools is \(fields.n_tools) but tools is NULL") }
        guard fields.n_tools <= UInt32(ToolUse.maxPatterns) else { return invalid("\(fields.n_tools) tool patterns: at most \(ToolUse.maxPatterns)") }
        var patterns: [String] = []
        for index in 0..<Int(fields.n_tools) {
            guard let pattern = tools[index], let text = String(validatingCString: pattern) else {
                return invalid("tool pattern \(index) is NULL or not valid UTF-8")
            }
            patterns.append(text)
        }
        let choice: ToolChoice
        switch fields.tool_choice {
        case AOS_TOOL_CHOICE_AUTO: choice = .auto
        case AOS_TOOL_CHOICE_REQUIRED: choice = .required
        default: return invalid("tool_choice \(fields.tool_choice) is not an AOS_TOOL_CHOICE_* value")
        }
        let steps = fields.max_steps == 0 ? ToolUse.defaultMaxSteps : Int(fields.max_steps)
        return .success((parameters, Int(fields.priority), ToolUse(patterns: patterns, choice: choice, maxSteps: steps)))
    }
}

extension aos_infer_result {
    /// The result as an AOS_MSG_INFERENCE message carries it: the text travels as the body.
    init(message outcome: Result<InferenceResult, KernelError>) {
        self.init()
        struct_size = UInt32(MemoryLayout<aos_infer_result>.size)
        switch outcome {
        case .success(let result):
            status = AOS_OK
            fill(result, text: false)
        case .failure(let error):
            status = error.status.rawValue
        }
    }

    /// The size of ABI 1.1's aos_infer_result, the smallest a caller may pass.
    static let minimumSize = MemoryLayout<aos_infer_result>.offset(of: \aos_infer_result.trace)!
    /// The sizes that cover ABI 1.2's `trace` and ABI 1.5's `cached_tokens`.
    private static let coversTrace = MemoryLayout<aos_infer_result>.offset(of: \aos_infer_result.cached_tokens)!
    private static let coversCachedTokens = MemoryLayout<aos_infer_result>.size

    /// Writes `result` into a caller's struct; with `text`, the text (and the
    /// trace, when the struct has the field) into buffers the caller releases.
    /// Returns false when a buffer cannot be allocated.
    @discardableResult
    mutating func fill(_ result: InferenceResult, text: Bool) -> Bool {
        request_id = result.requestID
        finish_reason = result.finishReason.abiValue
        usage = aos_infer_usage(
            prompt_tokens: UInt32(clamping: result.usage.promptTokens),
            completion_tokens: UInt32(clamping: result.usage.completionTokens),
            queue_ns: result.usage.queueNanos, ttft_ns: result.usage.timeToFirstTokenNanos,
            total_ns: result.usage.totalNanos)
        if Int(struct_size) >= Self.coversCachedTokens { cached_tokens = UInt32(clamping: result.usage.cachedPromptTokens) }
        guard text else { return true }
        guard let buffer = aos_buffer(copying: result.text) else { return false }
        self.text = buffer
        if Int(struct_size) >= Self.coversTrace, let trace = result.traceJSON {
            guard let buffer = aos_buffer(copying: trace) else { return false }
            self.trace = buffer
        }
        return true
    }
}
