/// A message in a mailbox: the body the kernel copied, who sent it, and for a
/// request, the reply its sender waits for.
struct Envelope: Sendable {
    let id: UInt64
    let sender: SenderIdentity
    let body: [UInt8]
    /// Set when the sender waits for a reply (`call`, `agentctl send --wait`).
    let pendingReply: PendingReply?
    /// Set for the result of `infer_submit`: the message carries it as `aos_message.inference`.
    var inference: Result<InferenceResult, KernelError>? = nil
    /// Set for a call of one of this tool plugin's tools.
    var toolCall: ToolCallJob? = nil
    /// Capabilities the sender lends the receiver while it handles this request (`call_delegate`).
    var delegation: CapabilitySet? = nil
}
