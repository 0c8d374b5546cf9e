/// Keeps alive the senders of the messages a mailbox holds, which the
/// envelopes do not retain (`Envelope.sender`): one strong reference per
/// sender while any of its messages may still be handled, not one per message.
///
/// Messages are numbered in the order they are queued. A sender stays pinned
/// until the receiver takes a batch that starts past its last message: the
/// receiver takes a batch only when it has handled the one before. Guarded by
/// the mailbox's lock.
struct SenderPins {
    private var pins: [UnsafeMutableRawPointer: Pin] = [:]
    /// The sender of the last message queued: its next message needs no lookup.
    private var latest: UnsafeMutableRawPointer?
    private var latestSequence: UInt64 = 0

    private struct Pin {
        let sender: SenderIdentity
        var lastSequence: UInt64
    }

    /// Pins the sender of `envelope`, message `sequence`.
    @inline(__always)
    mutating func pin(_ envelope: Envelope, at sequence: UInt64) {
        let key = envelope.senderKey
        if key == latest {
            latestSequence = sequence
            return
        }
        if let latest { pins[latest]?.lastSequence = latestSequence }
        if pins[key] == nil { pins[key] = Pin(sender: envelope.sender, lastSequence: sequence) }
        latest = key
        latestSequence = sequence
    }

    /// Unpins the senders whose last message is numbered below `sequence`
    /// (every message before it has been handled).
    mutating func release(before sequence: UInt64) {
        guard pins.count > 1 || latestSequence < sequence else { return }
        if let latest { pins[latest]?.lastSequence = latestSequence }
        for (key, pin) in pins where pin.lastSequence < sequence { pins[key] = nil }
        if let key = latest, pins[key] == nil { latest = nil }
    }
}
