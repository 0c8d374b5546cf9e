import CAgentOS
import Glibc

extension InferenceParameters {
    /// Messages one request may carry.
    static let maxMessages = 1024

    /// Reads an `aos_infer_request` from a plugin, copying every string.
    /// Returns the parameters and the request's own priority, or an
    /// `.invalidArgument` error naming the bad field.
    static func fromABI(_ request: UnsafePointer<aos_infer_request>?) -> Result<(InferenceParameters, Int), KernelError> {
        func invalid(_ message: String) -> Result<(InferenceParameters, Int), KernelError> {
            .failure(KernelError(.invalidArgument, message))
        }
        guard let request else { return invalid("request is NULL") }
        let fields = request.pointee
        guard Int(fields.struct_size) >= MemoryLayout<aos_infer_request>.size else {
            return invalid("request struct_size \(fields.struct_size) is smaller than aos_infer_request (\(MemoryLayout<aos_infer_request>.size))")
        }
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
        return .success((parameters, Int(fields.priority)))
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

    /// Writes `result` into a caller's struct; with `text`, into a buffer the caller releases.
    @discardableResult
    /// Returns false when the text buffer cannot be allocated.
    mutating func fill(_ result: InferenceResult, text: Bool) -> Bool {
        request_id = result.requestID
        finish_reason = result.finishReason.abiValue
        usage = aos_infer_usage(
            prompt_tokens: UInt32(clamping: result.usage.promptTokens),
            completion_tokens: UInt32(clamping: result.usage.completionTokens),
            queue_ns: result.usage.queueNanos, ttft_ns: result.usage.timeToFirstTokenNanos,
            total_ns: result.usage.totalNanos)
        guard text else { return true }
        var utf8 = Array(result.text.utf8)
        guard let buffer = malloc(max(utf8.count, 1))?.assumingMemoryBound(to: UInt8.self) else { return false }
        utf8.withUnsafeMutableBufferPointer { bytes in
            if let base = bytes.baseAddress { buffer.update(from: base, count: bytes.count) }
        }
        self.text = aos_buffer(ptr: buffer, len: utf8.count)
        return true
    }
}
