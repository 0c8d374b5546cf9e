import Foundation

extension ClusterService {
    /// Publishes a plain message from local `sender` to `name` on `node`.
    /// Returns once it is on the link: `.ok`, `.unreachable` or `.tooBig`.
    func send(from sender: String, to name: String, node: String, body: [UInt8], timeoutMs: UInt32) -> AOSStatus {
        let frame = ClusterFrame(
            kind: .message, id: ids.mint(), timeoutMs: timeoutMs, from: "\(sender)@\(self.node!)", to: name, body: body)
        let status = publish(frame, to: node)
        if status == .ok { counters.sent.increment() } else { counters.sendFailures.increment() }
        return status
    }

    /// Publishes a request from local `sender` to `name` on `node` and
    /// registers its reply slot, which the reply, the node's leaving or
    /// silence, or the link going down completes; `lock` is the waiter's.
    /// The caller waits on it, then calls `endCall`.
    func beginCall(
        from sender: String, to name: String, node: String, body: [UInt8], timeoutMs: UInt32, lock: ConditionLock
    ) -> Result<PendingReply, AOSStatus> {
        let id = ids.mint()
        let pending = PendingReply(requestID: id, lock: lock)
        state.withLock { $0.pending[id] = (pending, node) }
        let frame = ClusterFrame(
            kind: .request, id: id, timeoutMs: timeoutMs, from: "\(sender)@\(self.node!)", to: name, body: body)
        let status = publish(frame, to: node)
        guard status == .ok else {
            endCall(pending)
            counters.sendFailures.increment()
            return .failure(status)
        }
        counters.sent.increment()
        return .success(pending)
    }

    /// Forgets a call's reply slot (answered, timed out or abandoned); a reply
    /// arriving later is rejected as one for an expired call.
    func endCall(_ pending: PendingReply) {
        _ = state.withLock { $0.pending.removeValue(forKey: pending.requestID) }
    }

    /// Calls waiting for a remote reply now.
    public var waitingCalls: Int { state.withLock { $0.pending.count } }

    /// `agentctl send NAME@NODE` (or a plain name running on one other node):
    /// the control API, as "agentctl@THIS-NODE", sends `body`; with `wait`, as
    /// a request whose reply it awaits up to `timeoutMs`.
    /// Throws what `resolve` throws, `.tooBig`, `.timedOut`, `.unreachable`,
    /// `.notFound` (no such agent on that node), `.handlerFailed` or `.stopping`.
    func deliver(
        to target: String, name: String, node: String, body: [UInt8], wait: Bool, timeoutMs: UInt32
    ) async throws(KernelError) -> (messageID: UInt64, reply: [UInt8]?) {
        let full = "\(name)@\(node)"
        guard wait else {
            let status = send(from: SenderIdentity.controlAPI.name, to: name, node: node, body: body, timeoutMs: 0)
            guard status == .ok else { throw Self.error(status, full) }
            return (0, nil)
        }
        let pending: PendingReply
        switch beginCall(from: SenderIdentity.controlAPI.name, to: name, node: node, body: body, timeoutMs: timeoutMs, lock: ConditionLock()) {
        case .failure(let status): throw Self.error(status, full)
        case .success(let made): pending = made
        }
        let timeout = DispatchWorkItem { pending.complete(.failure(.timedOut)) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeoutMs)), execute: timeout)
        let outcome = await pending.value()
        timeout.cancel()
        endCall(pending)
        switch outcome {
        case .success(let reply): return (pending.requestID, reply)
        case .failure(.timedOut):
            throw KernelError(.timedOut, "\(full) did not reply within \(String(format: "%g", Double(timeoutMs) / 1000)) s")
        case .failure(let status): throw Self.error(status, full)
        }
    }

    /// The control API's error for a remote message's `status`.
    static func error(_ status: AOSStatus, _ full: String) -> KernelError {
        switch status {
        case .unreachable: KernelError(.unreachable, "\(full) cannot be reached: its node is gone or the cluster link is down")
        case .tooBig: KernelError(.tooBig, "the message is over the size limit of \(full)'s node or of the NATS server")
        case .notFound: KernelError(.notFound, "no agent named \(full) is running")
        case .full: KernelError(.full, "mailbox of \(full) is full; retry later")
        case .handlerFailed: KernelError(.handlerFailed, "the handler of \(full) failed before replying")
        case .stopping: KernelError(.stopping, "\(full) was unloaded before it replied")
        case .permissionDenied: KernelError(.permissionDenied, "sending to \(full) is not permitted")
        default: KernelError(.internal, "message to \(full) failed: \(status)")
        }
    }
}
