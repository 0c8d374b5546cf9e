/// A message in a mailbox: the body the kernel copied, who sent it, and what
/// kind of delivery it is.
struct Envelope: Sendable {
    /// What the receiver's thread does with an envelope.
    enum Kind: Sendable {
        /// A plain message (`send`, `agentctl send`): nobody waits for it.
        case message
        /// A request whose sender waits for the reply (`call`, `call_delegate`,
        /// `agentctl send --wait`); `delegation` is what the sender lends the
        /// receiver while it handles it.
        case request(PendingReply, delegation: CapabilitySet?)
        /// The result of `infer_submit`, delivered as `aos_message.inference`.
        case inferenceResult(Result<InferenceResult, KernelError>)
        /// A call of one of this tool plugin's tools.
        case toolCall(ToolCallJob)
    }

    let id: UInt64
    let sender: SenderIdentity
    let body: MessageBody
    let kind: Kind

    /// The reply slot of a request; nil for every other kind.
    var pendingReply: PendingReply? {
        if case .request(let pending, _) = kind { return pending }
        return nil
    }
}
