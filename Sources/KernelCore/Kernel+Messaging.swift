import CAgentOS
import Foundation
import Glibc

/// Message routing: the `send`, `call` and `reply` syscalls, and messages from the control API.
extension Kernel {
    // MARK: Syscalls (on the calling instance's own thread)

    func send(from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes, timeoutMs: UInt32) -> AOSStatus {
        switch prepare(from: instance, to: to, body: body, .send) {
        case .failure(let status):
            return status
        case .success(let (receiver, bytes)):
            let envelope = Envelope(id: mintMessageID(), sender: instance.identity, body: bytes, pendingReply: nil)
            return enqueue(envelope, to: receiver, from: instance, until: timeoutMs == 0 ? nil : Self.deadline(timeoutMs) ?? .max)
        }
    }

    func call(
        from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes, timeoutMs: UInt32,
        reply: UnsafeMutablePointer<aos_buffer>, delegation: CapabilitySet? = nil, _ syscall: Syscall = .call
    ) -> AOSStatus {
        reply.pointee = aos_buffer(ptr: nil, len: 0)
        let receiver: Instance
        let bytes: [UInt8]
        switch prepare(from: instance, to: to, body: body, syscall) {
        case .failure(let status): return status
        case .success(let prepared): (receiver, bytes) = prepared
        }
        if receiver === instance || timeoutMs == 0 { return .invalidArgument }
        let until = Self.deadline(timeoutMs)
        let id = mintMessageID()
        let pending = PendingReply(requestID: id, lock: instance.parker)
        let queued = enqueue(
            Envelope(id: id, sender: instance.identity, body: bytes, pendingReply: pending, delegation: delegation),
            to: receiver, from: instance, until: until ?? UInt64.max)
        guard queued == .ok else { return queued }

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
            instance.log.append(.warn, .kernel, "call_delegate: caps is NULL or holds more than \(Self.maxDelegatedCapabilities) capabilities")
            return .invalidArgument
        }
        var lent = CapabilitySet()
        let held = instance.effectiveCapabilities
        for index in 0..<count {
            guard let text = capabilities![index].flatMap(String.init(validatingCString:)) else {
                instance.log.append(.warn, .kernel, "call_delegate: capability \(index) is NULL or not UTF-8")
                return .invalidArgument
            }
            let capability: Capability
            do { capability = try Capability(parsing: text) } catch {
                instance.log.append(.warn, .kernel, "call_delegate: \(error.message)")
                return .invalidArgument
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
        guard !instance.loopEnded else { return .stopping }
        guard let pending = instance.outstanding.removeValue(forKey: requestID) else { return .notFound }
        answerLinks.link(requestID, to: instance.inferenceBehindReply(to: requestID))
        return pending.complete(.success(copy(body))) ? .ok : .notFound
    }

    // MARK: Control API

    /// Queues `body` for `name` from the control API ("agentctl"). With `wait`,
    /// sends a request and suspends until the reply or `timeoutMs`.
    /// Never blocks a thread: a full mailbox is refused at once.
    ///
    /// Returns the message id and, with `wait`, the reply and the inference
    /// requests behind it (see `AnswerLinks`). Throws `.notFound`, `.tooBig`,
    /// `.full`, `.stopping`, `.timedOut` or `.handlerFailed`.
    public func send(
        to name: String, body: [UInt8], wait: Bool, timeoutMs: UInt32
    ) async throws(KernelError) -> (messageID: UInt64, reply: [UInt8]?, inference: [UInt64]) {
        guard body.count <= configuration.maxMessageBytes else {
            countRefusal(.tooBig, from: nil)
            throw KernelError(.tooBig, "message is \(body.count) bytes; the limit is \(configuration.maxMessageBytes) (agentosd --max-message-bytes)")
        }
        guard let receiver = table.lookup(name) else {
            countRefusal(.notFound, from: nil)
            throw KernelError(.notFound, "no agent named \(name) is running (see `agentctl ps`)")
        }
        let receiveLimit = receiver.messageBytesQuota.load(ordering: .relaxed)
        guard body.count <= receiveLimit else {
            let reason = "a \(body.count)-byte message is over \(name)'s message_bytes quota (\(receiveLimit))"
            receiver.refuseQuota("message_bytes", syscall: "agentctl send", reason: reason)
            countRefusal(.tooBig, from: nil)
            throw KernelError(.tooBig, reason)
        }
        let id = mintMessageID()
        let pending = wait ? PendingReply(requestID: id, lock: ConditionLock()) : nil
        let status = enqueue(Envelope(id: id, sender: .controlAPI, body: body, pendingReply: pending), to: receiver, from: nil, until: nil)
        switch status {
        case .ok: break
        case .full: throw KernelError(.full, "mailbox of \(name) is full (\(receiver.mailbox.capacity) messages); retry later")
        default: throw KernelError(.stopping, "\(name) is being unloaded")
        }
        guard let pending else { return (id, nil, []) }
        let timeout = DispatchWorkItem { pending.complete(.failure(.timedOut)) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeoutMs)), execute: timeout)
        let outcome = await pending.value()
        timeout.cancel()
        switch outcome {
        case .success(let reply):
            return (id, reply, answerLinks.take(id))
        case .failure(.timedOut):
            throw KernelError(.timedOut, "\(name) did not reply within \(String(format: "%g", Double(timeoutMs) / 1000)) s")
        case .failure(.handlerFailed):
            throw KernelError(.handlerFailed, "the handler of \(name) failed before replying (see `agentctl logs \(name)`)")
        case .failure(.stopping):
            throw KernelError(.stopping, "\(name) was unloaded before it replied")
        case .failure(let status):
            throw KernelError(.internal, "request to \(name) failed: \(status)")
        }
    }

    // MARK: Plumbing

    /// The monotonic deadline of a syscall's `timeout_ms`; nil for AOS_FOREVER.
    private static func deadline(_ timeoutMs: UInt32) -> UInt64? {
        timeoutMs == AOS_FOREVER ? nil : KernelCore.deadline(afterMilliseconds: timeoutMs)
    }

    @inline(__always)
    func mintMessageID() -> UInt64 { nextMessageID.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Checks a syscall's caller, receiver and body; returns the receiver and a copy of the body.
    private func prepare(
        from instance: Instance, to: UnsafePointer<CChar>?, body: aos_bytes, _ syscall: Syscall
    ) -> Result<(Instance, [UInt8]), AOSStatus> {
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
            if let (limited, reason) = messageSizeRefusal(body.len, from: instance, to: receiver) {
                limited.refuseQuota("message_bytes", syscall: syscall.name, reason: reason)
                countRefusal(.tooBig, from: instance)
                return .failure(.tooBig)
            }
            return .success((receiver, copy(body)))
        case .failure(let status):
            countRefusal(status, from: instance)
            return .failure(status)
        }
    }

    /// The live instance named `to`, once the sender's `send:` capabilities allow it:
    /// the sender's last receiver when the name matches, it is not stopping and
    /// no grant changed since, else a check and a table lookup. An agent that may
    /// not send to `to` learns nothing of whether it runs.
    @inline(__always)
    private func receiver(named to: UnsafePointer<CChar>, for sender: Instance, _ syscall: Syscall) -> Result<Instance, AOSStatus> {
        if let last = sender.lastReceiver, !last.stopRequested.load(ordering: .relaxed),
           sender.lastReceiverGeneration == sender.grantsGeneration.load(ordering: .relaxed),
           strcmp(to, last.identity.cName) == 0 {
            return .success(last)
        }
        guard let name = String(validatingCString: to) else { return .failure(.invalidArgument) }
        guard sender.maySend(to: name, syscall) else { return .failure(.permissionDenied) }
        guard let receiver = table.lookup(name) else { return .failure(.notFound) }
        // Cache only what the sender's own grants allow: a lent capability ends with its request.
        if !sender.checksPolicy || sender.grants.withLock({ $0.permitsSend(to: name) }) {
            sender.lastReceiver = receiver
            sender.lastReceiverGeneration = sender.grantsGeneration.load(ordering: .relaxed)
        }
        return .success(receiver)
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

    /// Queues `envelope`; when the mailbox is full, waits until `until` (monotonic ns;
    /// nil = refuse at once), interruptible by unloading `sender`.
    private func enqueue(_ envelope: Envelope, to receiver: Instance, from sender: Instance?, until: UInt64?) -> AOSStatus {
        var status = receiver.mailbox.push(envelope, until: nil)
        // Waiting for room in one's own mailbox would wait forever: only the waiter can make room.
        if status == .full, let until, let sender, sender !== receiver {
            if sender.beginWait(on: receiver.mailbox) {
                status = receiver.mailbox.push(envelope, until: until) { sender.stopRequested.load(ordering: .relaxed) }
                sender.endWait()
            } else {
                status = .stopping
            }
        }
        if status == .ok {
            receiver.messagesIn.add(1, ordering: .relaxed)
            receiver.metrics.messages.delivered.increment()
            sender?.messagesOut.add(1, ordering: .relaxed)
            (sender?.metrics.messages ?? controlMessages).sent.increment()
            messagesDelivered.add(1, ordering: .relaxed)
        } else {
            countRefusal(status, from: sender)
        }
        return status
    }

    /// Counts a refused message of `sender` (nil: the control API).
    private func countRefusal(_ status: AOSStatus, from sender: Instance?) {
        messagesRefused.add(1, ordering: .relaxed)
        (sender?.metrics.messages ?? controlMessages).refused(status)
    }

    @inline(__always)
    private func copy(_ bytes: aos_bytes) -> [UInt8] {
        guard let pointer = bytes.ptr, bytes.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: bytes.len))
    }
}
