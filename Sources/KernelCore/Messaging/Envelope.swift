/// A message in a mailbox: the body the kernel copied, who sent it, and what
/// kind of delivery it is. 88 bytes; a plain message is copied and dropped
/// with no call into the runtime (the other kinds live out of line).
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
    /// Not retained by the envelope, so a message costs no reference counting
    /// on two cores: the mailbox it is queued in keeps its sender alive
    /// (`SenderPins`), and whoever makes one holds the sender until it is queued.
    private let unretainedSender: Unmanaged<SenderIdentity>
    let body: MessageBody
    /// Every kind but `.message`, and any envelope naming a session; nil for a plain message.
    private let rareKind: RareKind?

    /// `session`: the session the sender named (`agentctl send --session`), for `aos_message.session`.
    init(id: UInt64, sender: SenderIdentity, body: MessageBody, kind: Kind, session: String? = nil) {
        self.id = id
        self.unretainedSender = .passUnretained(sender)
        self.body = body
        if case .message = kind, session == nil { rareKind = nil } else { rareKind = RareKind(kind, session: session) }
    }

    var kind: Kind { rareKind?.kind ?? .message }

    /// Calls `body` with the session the sender named as a C string (lent for the call), or NULL.
    func withSession<T>(_ body: (UnsafePointer<CChar>?) -> T) -> T {
        guard let session = rareKind?.session else { return body(nil) }
        return session.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    var sender: SenderIdentity { unretainedSender.takeUnretainedValue() }

    /// Identifies the sender without touching its reference count.
    var senderKey: UnsafeMutableRawPointer { unretainedSender.toOpaque() }

    /// The sender's NUL-terminated name, for `aos_message.from`, without a retain.
    var senderCName: UnsafePointer<CChar> {
        unretainedSender._withUnsafeGuaranteedRef { UnsafePointer($0.cName) }
    }
}

/// An envelope's kind when it is not a plain message, on the heap: a
/// reference is all an envelope carries for it.
private final class RareKind: Sendable {
    let kind: Envelope.Kind
    /// NUL-terminated.
    let session: [CChar]?

    init(_ kind: Envelope.Kind, session: String?) {
        self.kind = kind
        self.session = session.map { Array($0.utf8CString) }
    }
}
