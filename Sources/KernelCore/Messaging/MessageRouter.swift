import CAgentOS
import Foundation
import Glibc
import Logging

/// Delivers messages between instances: the `send`, `call`, `call_delegate`
/// and `reply` syscalls, and messages from the control API.
///
/// Per sender→receiver FIFO, at most once, into bounded mailboxes; a message
/// that cannot be delivered is an error to its sender. Thread-safe: the
/// syscalls run on the calling instance's own thread (they check), the
/// control API's `deliver` on any; the router's own state is its counters.
public final class MessageRouter: Sendable {
    let configuration: KernelConfiguration
    let table: InstanceTable
    private let ids: IdentifierMint
    /// Where names that no local agent has are looked for.
    let cluster: ClusterService
    /// The inference requests behind agents' answers.
    let answerLinks = AnswerLinks()
    /// The control API as a sender named "agentctl": its refusals, and the messages it sent.
    private let controlSeries = MetricSeries(agent: SenderIdentity.controlAPI.name)
    private let controlSent = PaddedAtomic()
    private let refused = PaddedAtomic()

    init(configuration: KernelConfiguration, table: InstanceTable, ids: IdentifierMint, cluster: ClusterService) {
        self.configuration = configuration
        self.cluster = cluster
        self.table = table
        self.ids = ids
    }

    /// Messages delivered to a mailbox since the kernel started: the mailboxes
    /// count them, so senders to one receiver share no counter.
    public var deliveredCount: UInt64 { table.messagesDelivered }
    /// Messages refused (full, too big, no receiver, not permitted) since the kernel started.
    public var refusedCount: UInt64 { refused.value }
    /// Messages the control API sent that were queued.
    var controlSentCount: UInt64 { controlSent.value }

    // MARK: Syscalls (on the calling instance's own thread)

    func send(from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes, timeoutMs: UInt32) -> AOSStatus {
        switch prepare(from: instance, to: to, body: body, .send) {
        case .failure(.notFound) where cluster.isJoined:
            return sendRemote(from: instance, to: to!, body: body, timeoutMs: timeoutMs)
        case .failure(let status):
            return status
        case .success(let (receiver, bytes)):
            let envelope = Envelope(id: instance.own.mintID(from: ids), sender: instance.identity, body: bytes, kind: .message)
            return receiver._withUnsafeGuaranteedRef { enqueue(envelope, to: $0, from: instance, timeoutMs: timeoutMs) }
        }
    }

    func call(
        from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes, timeoutMs: UInt32,
        reply: UnsafeMutablePointer<aos_buffer>, delegation: CapabilitySet? = nil, _ syscall: Syscall = .call
    ) -> AOSStatus {
        reply.pointee = aos_buffer(ptr: nil, len: 0)
        let receiver: Unmanaged<Instance>
        let bytes: MessageBody
        switch prepare(from: instance, to: to, body: body, syscall) {
        case .failure(.notFound) where cluster.isJoined:
            return callRemote(from: instance, to: to!, body: body, timeoutMs: timeoutMs, reply: reply, syscall)
        case .failure(let status): return status
        case .success(let prepared): (receiver, bytes) = prepared
        }
        if receiver.toOpaque() == Unmanaged.passUnretained(instance).toOpaque() || timeoutMs == 0 { return .invalidArgument }
        let until = Self.deadline(timeoutMs)
        let id = instance.own.mintID(from: ids)
        let pending = PendingReply(requestID: id, lock: instance.parker)
        let envelope = Envelope(
            id: id, sender: instance.identity, body: bytes, kind: .request(pending, delegation: delegation))
        let queued = receiver._withUnsafeGuaranteedRef { enqueue(envelope, to: $0, from: instance, timeoutMs: timeoutMs) }
        guard queued == .ok else { return queued }
        return awaitReply(pending, of: instance, until: until, into: reply)
    }

    /// Blocks the calling instance until `pending` has its outcome, `until`
    /// passes or the instance is unloaded; on success copies the reply into a
    /// buffer the caller owns (`reply`).
    func awaitReply(
        _ pending: PendingReply, of instance: Instance, until: UInt64?, into reply: UnsafeMutablePointer<aos_buffer>
    ) -> AOSStatus {
        var outcome: ReplyOutcome?
        if instance.beginWait(on: instance.parker) {
            outcome = pending.wait(until: until) { instance.stopRequested.load(ordering: .relaxed) }
            instance.endWait()
        }
        let final = outcome ?? pending.outcome(orElse: .failure(instance.stopRequested.load(ordering: .relaxed) ? .stopping : .timedOut))
        switch final {
        case .failure(let status):
            return status
        case .success(let replyBytes):
            guard let buffer = malloc(max(replyBytes.count, 1))?.assumingMemoryBound(to: UInt8.self) else {
                return .outOfMemory
            }
            replyBytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: $0.count) }
            reply.pointee = aos_buffer(ptr: buffer, len: replyBytes.count)
            return .ok
        }
    }

    /// `call_delegate`: `call`, lending the receiver `count` of the caller's
    /// capabilities for that request. Each must be covered by what the caller
    /// holds (delegation only narrows); a wider one is denied and audited.
    func callDelegate(
        from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes,
        capabilities: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, timeoutMs: UInt32,
        reply: UnsafeMutablePointer<aos_buffer>
    ) -> AOSStatus {
        reply.pointee = aos_buffer(ptr: nil, len: 0)
        guard instance.isOwnThread else { return .wrongThread }
        guard count <= Self.maxDelegatedCapabilities, capabilities != nil || count == 0 else {
            return instance.refuse(.callDelegate, .invalidArgument, "caps is NULL or holds more than \(Self.maxDelegatedCapabilities) capabilities")
        }
        var lent = CapabilitySet()
        let held = instance.effectiveCapabilities
        for index in 0..<count {
            guard let text = capabilities![index].flatMap(String.init(validatingCString:)) else {
                return instance.refuse(.callDelegate, .invalidArgument, "capability \(index) is NULL or not UTF-8")
            }
            let capability: Capability
            do { capability = try Capability(parsing: text) } catch {
                return instance.refuse(.callDelegate, .invalidArgument, error.message)
            }
            guard !instance.checksPolicy || held.covers(capability) else {
                instance.deny(capability, syscall: Syscall.callDelegate.name, reason: "\(instance.name) tried to delegate \(capability), which it does not hold (delegation only narrows)")
                return .permissionDenied
            }
            lent.insert(capability)
        }
        return call(from: instance, to: to, body: body, timeoutMs: timeoutMs, reply: reply, delegation: lent, .callDelegate)
    }

    /// Capabilities one `call_delegate` may lend at most.
    static let maxDelegatedCapabilities = 64

    func reply(from instance: Instance, requestID: UInt64, body: aos_bytes) -> AOSStatus {
        guard body.len <= configuration.maxMessageBytes else { return .tooBig }
        guard body.ptr != nil || body.len == 0 else { return .invalidArgument }
        guard !instance.own.loopEnded else { return .stopping }
        guard let pending = instance.own.outstanding.removeValue(forKey: requestID) else { return .notFound }
        answerLinks.link(requestID, to: instance.inferenceBehindReply(to: requestID))
        return pending.complete(.success(copy(body))) ? .ok : .notFound
    }

    // MARK: Undelivered messages

    /// Fails queued requests with `status` (AOS_ESTOPPING; AOS_ECRASHED for an
    /// instance whose host failed for good) and logs plain messages as dead
    /// letters: what was still in the mailbox of `instance` when it closed.
    func returnUndelivered(_ envelopes: [Envelope], of instance: Instance, logger: Logger, status: AOSStatus = .stopping) {
        for envelope in envelopes {
            switch envelope.kind {
            case .toolCall(let job):
                job.pending.complete(.failure(KernelError(.stopping, "\(job.entry.name) was unloaded before the call ran")))
            case .request(let pending, _):
                pending.complete(.failure(status))
            case .message, .inferenceResult:
                instance.log.append(.warn, .kernel, "dead letter: message \(envelope.id) from \(envelope.sender.name) (\(envelope.body.count) bytes) was never delivered")
                logger.warning("dead letter", metadata: ["agent": "\(instance.name)", "message": "\(envelope.id)", "from": "\(envelope.sender.name)"])
            }
        }
    }

    // MARK: Plumbing

    /// The monotonic deadline of a syscall's `timeout_ms`; nil for AOS_FOREVER.
    static func deadline(_ timeoutMs: UInt32) -> UInt64? {
        timeoutMs == AOS_FOREVER ? nil : KernelCore.deadline(afterMilliseconds: timeoutMs)
    }

    /// Checks a syscall's caller, receiver and body; returns the receiver (held
    /// by the caller's `OwnThreadState` until its next send or call) and a copy of the body.
    @inline(__always)
    private func prepare(
        from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes, _ syscall: Syscall
    ) -> Result<(Unmanaged<Instance>, MessageBody), AOSStatus> {
        guard instance.isOwnThread else { return .failure(.wrongThread) }
        guard !instance.stopRequested.load(ordering: .relaxed) else { return .failure(.stopping) }
        guard let to else { return .failure(.invalidArgument) }
        guard body.ptr != nil || body.len == 0 else { return .failure(.invalidArgument) }
        guard body.len <= configuration.maxMessageBytes else {
            countRefusal(.tooBig, from: instance)
            return .failure(.tooBig)
        }
        switch receiver(named: to, for: instance, syscall) {
        case .success(let receiver):
            if let (limited, reason) = receiver._withUnsafeGuaranteedRef({ messageSizeRefusal(body.len, from: instance, to: $0) }) {
                limited.refuseQuota("message_bytes", syscall: syscall.name, reason: reason)
                countRefusal(.tooBig, from: instance)
                return .failure(.tooBig)
            }
            return .success((receiver, MessageBody(copying: UnsafeRawBufferPointer(start: body.ptr, count: body.len))))
        case .failure(let status):
            // A name not found here may run on another node: send and call look there and count.
            if status != .notFound || !cluster.isJoined { countRefusal(status, from: instance) }
            return .failure(status)
        }
    }

    /// The live instance named `to`, once the sender's `send:` capabilities allow it:
    /// the sender's last receiver when the name matches, it is not stopping and
    /// no grant changed since, else a check and a table lookup. Returned
    /// unretained: the sender's `OwnThreadState` holds it. An agent that may
    /// not send to `to` learns nothing of whether it runs.
    @inline(__always)
    private func receiver(named to: UnsafePointer<CChar>, for sender: Instance, _ syscall: Syscall) -> Result<Unmanaged<Instance>, AOSStatus> {
        let own = sender.own
        let generation = sender.grantsGeneration.load(ordering: .relaxed)
        if let last = own.lastReceiverRef, own.permittedAt == generation,
           last._withUnsafeGuaranteedRef({ !$0.stopRequested.load(ordering: .relaxed) && strcmp(to, $0.identity.cName) == 0 }) {
            return .success(last)
        }
        guard let name = String(validatingCString: to) else { return .failure(.invalidArgument) }
        // In a cluster a name no local agent has is checked against its full remote name (sendRemote).
        if cluster.isJoined, table.lookup(name) == nil { return .failure(.notFound) }
        guard sender.maySend(to: name, syscall) else { return .failure(.permissionDenied) }
        guard let receiver = table.lookup(name) else { return .failure(.notFound) }
        // Reuse only what the sender's own grants allow: a lent capability ends with its request.
        let permitted = !sender.checksPolicy || sender.grants.withLock { $0.permitsSend(to: name) }
        return .success(own.remember(receiver, permittedAt: permitted ? generation : nil))
    }

    /// Whose message_bytes quota a body of `length` bytes from `sender` to
    /// `receiver` is over, and why; nil when it fits both.
    @inline(__always)
    private func messageSizeRefusal(_ length: Int, from sender: Instance, to receiver: Instance) -> (Instance, String)? {
        guard sender.checksPolicy else { return nil }
        let sendLimit = sender.messageBytesQuota.load(ordering: .relaxed)
        if length > sendLimit {
            return (sender, "a \(length)-byte message to \(receiver.name) is over \(sender.name)'s message_bytes quota (\(sendLimit))")
        }
        let receiveLimit = receiver.messageBytesQuota.load(ordering: .relaxed)
        if length > receiveLimit {
            return (receiver, "a \(length)-byte message from \(sender.name) is over \(receiver.name)'s message_bytes quota (\(receiveLimit))")
        }
        return nil
    }

    /// Queues `envelope`. When the mailbox is full and `timeoutMs` is not 0,
    /// waits up to `timeoutMs` (the clock is read only then), interruptible by
    /// unloading `sender` (nil: the control API, which never waits).
    @inline(__always)
    func enqueue(_ envelope: Envelope, to receiver: Instance, from sender: Instance?, timeoutMs: UInt32) -> AOSStatus {
        var status = receiver.mailbox.push(envelope, until: nil)
        // Waiting for room in one's own mailbox would wait forever: only the waiter can make room.
        if status == .full, timeoutMs != 0, let sender, sender !== receiver {
            if sender.beginWait(on: receiver.mailbox) {
                status = receiver.mailbox.push(envelope, until: Self.deadline(timeoutMs) ?? .max) {
                    sender.stopRequested.load(ordering: .relaxed)
                }
                sender.endWait()
            } else {
                status = .stopping
            }
        }
        if status == .ok {
            if sender == nil { controlSent.increment() }
            sender?.messagesOut.increment()
        } else {
            countRefusal(status, from: sender)
        }
        return status
    }

    /// Counts a refused message of `sender` (nil: the control API).
    func countRefusal(_ status: AOSStatus, from sender: Instance?) {
        refused.increment()
        if let sender { sender.metrics.refused(status) } else { controlSeries.countRefusedMessage(status) }
    }

    @inline(__always)
    func copy(_ bytes: aos_bytes) -> [UInt8] {
        guard let pointer = bytes.ptr, bytes.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: bytes.len))
    }

    /// The next id for the control API and kernel threads.
    func mintID() -> UInt64 { ids.mint() }
}
