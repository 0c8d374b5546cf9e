import CAgentOSKit

/// A message delivered to `Agent.handle`, copied out of the kernel's buffers,
/// so it may be kept after the handler returns.
public struct Message: Sendable {
    /// Kernel-minted, unique in the kernel's run; for an inference result, its request id.
    public var id: UInt64
    /// The sender's instance name, "agentctl" for the control API, "kernel" for an inference result.
    public var from: String
    public var body: [UInt8]
    /// The sender waits in `call` for `Context.reply(to:_:)`.
    public var isRequest: Bool
    /// For the result of `Context.submit(_:)`: the result, or why the request failed; nil otherwise.
    public var inference: Result<InferenceResult, AgentOSError>?
    /// ABI 1.10: the session the sender named (`agentctl send --session`), to pass on as
    /// `InferenceRequest.session`; nil when it named none.
    public var session: String?

    /// The body as UTF-8 text (invalid bytes become U+FFFD).
    public var text: String { String(decoding: body, as: UTF8.self) }

    public init(id: UInt64, from: String, body: [UInt8], isRequest: Bool, inference: Result<InferenceResult, AgentOSError>? = nil) {
        self.id = id
        self.from = from
        self.body = body
        self.isRequest = isRequest
        self.inference = inference
    }

    /// Copies the kernel's message (valid only during on_message).
    init(_ message: UnsafePointer<aos_message>) {
        let m = message.pointee
        let body = m.body.ptr.map { Array(UnsafeBufferPointer(start: $0, count: m.body.len)) } ?? []
        var inference: Result<InferenceResult, AgentOSError>?
        let inferenceEnd = MemoryLayout<aos_message>.offset(of: \.inference)! + MemoryLayout<UnsafeRawPointer>.size
        if m.flags & AOS_MSG_INFERENCE != 0, Int(m.struct_size) >= inferenceEnd, let result = m.inference {
            inference = result.pointee.status == AOS_OK
                ? .success(InferenceResult(result.pointee, text: String(decoding: body, as: UTF8.self), trace: lentTrace(result)))
                : .failure(AgentOSError(Status(rawValue: result.pointee.status), "inference request \(m.id) failed"))
        }
        self.init(
            id: m.id, from: m.from.map { String(cString: $0) } ?? "", body: body,
            isRequest: m.flags & AOS_MSG_REQUEST != 0, inference: inference)
        let sessionEnd = MemoryLayout<aos_message>.offset(of: \.session)! + MemoryLayout<UnsafeRawPointer>.size
        if Int(m.struct_size) >= sessionEnd, let session = m.session { self.session = String(cString: session) }
    }
}

/// The trace lent in an inference message, when its struct_size covers it.
private func lentTrace(_ result: UnsafePointer<aos_infer_result>) -> String? {
    let end = MemoryLayout<aos_infer_result>.offset(of: \.trace)! + MemoryLayout<aos_buffer>.size
    guard Int(result.pointee.struct_size) >= end, let pointer = result.pointee.trace.ptr else { return nil }
    return String(decoding: UnsafeBufferPointer(start: pointer, count: result.pointee.trace.len), as: UTF8.self)
}
