/// A message in a mailbox: the body the kernel copied, who sent it, and what
/// kind of delivery it is. About 100 bytes, copied with no runtime call: the
/// payloads of the rarer kinds are references.
struct Envelope: Sendable {
    /// What the receiver's thread does with an envelope.
    enum Kind: Sendable {
        /// A plain message (`send`, `agentctl send`): nobody waits for it.
        case message
        /// A request whose sender waits for the reply (`call`, `call_delegate`,
        /// `agentctl send --wait`); `delegation` is what the sender lends the
        /// receiver while it handles it.
        case request(PendingReply, delegation: OutOfLine<CapabilitySet>?)
        /// The result of `infer_submit`, delivered as `aos_message.inference`.
        case inferenceResult(OutOfLine<Result<InferenceResult, KernelError>>)
        /// A call of one of this tool plugin's tools.
        case toolCall(ToolCallJob)
    }

    let id: UInt64
    /// Not retained by the envelope, so a message costs no reference counting
    /// on two cores: the mailbox it is queued in keeps its sender alive
    /// (`SenderPins`), and whoever makes one holds the sender until it is queued.
    private let unretainedSender: Unmanaged<SenderIdentity>
    let body: MessageBody
    let kind: Kind

    init(id: UInt64, sender: SenderIdentity, body: MessageBody, kind: Kind) {
        self.id = id
        self.unretainedSender = .passUnretained(sender)
        self.body = body
        self.kind = kind
    }

    var sender: SenderIdentity { unretainedSender.takeUnretainedValue() }

    /// Identifies the sender without touching its reference count.
    var senderKey: UnsafeMutableRawPointer { unretainedSender.toOpaque() }

    /// The sender's NUL-terminated name, for `aos_message.from`, without a retain.
    var senderCName: UnsafePointer<CChar> {
        unretainedSender._withUnsafeGuaranteedRef { UnsafePointer($0.cName) }
    }
}

/// A payload kept on the heap, so the envelope that carries it stays small.
final class OutOfLine<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}
