/// The part of an instance that only its own thread reads and writes: no
/// lock, because nothing else touches it. `InstanceRunner` and the syscalls
/// (which check `Instance.isOwnThread` first) are its only users.
final class OwnThreadState: @unchecked Sendable {
    /// Requests this instance received and has not answered yet.
    var outstanding: [UInt64: PendingReply] = [:]
    /// Sweep answered requests out of `outstanding` when it grows past this.
    var outstandingSweepAt = 4096
    /// What `init` returned as the plugin's per-instance state.
    var pluginState: UnsafeMutableRawPointer?
    /// The receiver of this instance's last send or call. Held here so the
    /// syscall can use it without reference counting (`lastReceiverRef`), and
    /// reused without a name lookup while `permittedAt` is the grants generation.
    private(set) var lastReceiver: Instance?
    private(set) var lastReceiverRef: Unmanaged<Instance>?
    /// The grants generation at which the sender's own grants permitted sending
    /// to `lastReceiver`; nil when only a lent capability did (not reusable).
    private(set) var permittedAt: UInt64?
    /// The capabilities lent by the sender of the request being handled (`call_delegate`).
    var delegation: CapabilitySet?
    /// Set once the message loop has ended: `stop` is running or has run.
    var loopEnded = false
    /// The state a process-mode instance ends in when its host will not be restarted (`HostCrashes`).
    var endedAfterCrash: InstanceState?
    /// The id of the message being handled, 0 between messages; and whether it is an inference result.
    var handling: UInt64 = 0
    var handlingInferenceResult = false
    /// Handler durations of the batch being handled, folded into `InstanceMetrics.handlerTimings` after it.
    var handlerTally = HandlerTimings.Tally()
    /// Inference requests started while handling each message, by message id (see `AnswerLinks`).
    var causes: [UInt64: [UInt64]] = [:]
    /// Ids this thread has taken from the kernel's mint and not used yet.
    var ids: Range<UInt64> = 0..<0

    /// Holds `receiver` as the last receiver; returns it unretained, valid until the next `remember` or `forgetReceiver`.
    func remember(_ receiver: Instance, permittedAt generation: UInt64?) -> Unmanaged<Instance> {
        lastReceiver = receiver
        lastReceiverRef = .passUnretained(receiver)
        permittedAt = generation
        return lastReceiverRef.unsafelyUnwrapped
    }

    /// Lets the last receiver go (the message loop has ended).
    func forgetReceiver() {
        lastReceiver = nil
        lastReceiverRef = nil
        permittedAt = nil
    }

    /// The next id, from this thread's block (a new block when it is used up).
    @inline(__always)
    func mintID(from mint: IdentifierMint) -> UInt64 {
        if ids.isEmpty { ids = mint.mintBlock() }
        return ids.popFirst()!
    }
}
