import Foundation

extension ClusterService {
    /// Handles one frame that arrived on this node's subjects. Untrusted: a
    /// malformed frame, a reply nobody waits for or a frame about this node
    /// from elsewhere is counted in `rejectedFrames` and dropped; nothing a
    /// frame holds can stop the kernel. After this kernel yielded its node
    /// name (`nameConflict`) every frame is dropped. Called on the link's
    /// delivery thread, one frame at a time (which keeps each sender's order).
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let me = node, !yielded.load(ordering: .relaxed) else { return }
        let frame: ClusterFrame
        do {
            frame = try ClusterFrame(decoding: bytes)
        } catch {
            reject("malformed frame: \(error.reason)")
            return
        }
        switch frame.kind {
        case .announce: announced(frame, me: me)
        case .leave:
            guard frame.from != me else { return }
            let gone = state.withLock { state -> [PendingReply] in
                state.nodes[frame.from] = nil
                let calls = state.pending.filter { $0.value.node == frame.from }
                for id in calls.keys { state.pending[id] = nil }
                return calls.values.map(\.reply)
            }
            for pending in gone { pending.complete(.failure(.unreachable)) }
        case .message, .request: deliver(frame)
        case .reply: replied(frame)
        case .inferRequest: inferRequested(frame)
        case .inferChunk: frame.to == me ? inferChunk(frame) : reject("inference chunk for node \(frame.to) arrived at \(me)")
        case .inferEnd: frame.to == me ? inferEnded(frame) : reject("inference end for node \(frame.to) arrived at \(me)")
        case .inferCancel: frame.to == me ? inferCancelled(frame) : reject("inference cancel for node \(frame.to) arrived at \(me)")
        case .undeliverable:
            counters.undelivered.increment()
            guard let sender = ClusterName.split(frame.to), let instance = table.lookup(sender.name) else { return }
            instance.log.append(.warn, .kernel, "message \(frame.id) to \(frame.from) was not delivered: \(AOSStatus(rawValue: frame.status))")
        }
    }

    private func reject(_ reason: String) {
        counters.rejectedFrames.increment()
        lastRejection.withLock { $0 = reason }
    }

    private func announced(_ frame: ClusterFrame, me: String) {
        guard frame.from != me else { return sameName(frame, me: me) }
        guard let text = String(validating: frame.body, as: UTF8.self) else { return reject("announcement of \(frame.from) is not UTF-8") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 2, lines[0].utf8.count <= 64, lines[1].utf8.count <= 200 else {
            return reject("announcement of \(frame.from) lacks its version and engine")
        }
        let agents = Array(lines.dropFirst(2))
        guard agents.allSatisfy(ClusterName.isValidAgent) else { return reject("announcement of \(frame.from) names an invalid agent") }
        let record = ClusterNode(
            name: frame.from, version: lines[0], engine: lines[1], agents: agents, lastSeenNanos: monotonicNanos(), isSelf: false)
        state.withLock { $0.nodes[frame.from] = record }
    }

    /// Another kernel announces this node's name (the link never echoes this
    /// kernel's own frames). The one that started later (the announcement's
    /// id) yields: this one leaves the cluster when the other started first,
    /// and only counts the frame when it started first itself.
    private func sameName(_ frame: ClusterFrame, me: String) {
        guard frame.id < startedAt else {
            return reject("node name \(me) is also announced by a kernel that started later: that one leaves the cluster")
        }
        let reason = "node name \(me) is in use by another kernel in the cluster, which started first: this kernel left the cluster (restart it with another --node)"
        let failed = state.withLock { state -> [PendingReply] in
            state.nameConflict = reason
            defer { state.pending.removeAll() }
            return state.pending.values.map(\.reply)
        }
        yielded.store(true, ordering: .relaxed)
        reject(reason)
        for pending in failed { pending.complete(.failure(.unreachable)) }
    }

    /// A message or request from another node, into a local mailbox.
    private func deliver(_ frame: ClusterFrame) {
        guard let (_, callerNode) = ClusterName.split(frame.from) else { return }
        let status = deliverStatus(frame)
        if status == .ok {
            counters.received.increment()
            return
        }
        counters.undelivered.increment()
        let answer = ClusterFrame(
            kind: frame.kind == .request ? .reply : .undeliverable, status: status.rawValue, id: frame.id,
            from: "\(frame.to)@\(node!)", to: frame.from)
        publish(answer, to: callerNode)
    }

    private func deliverStatus(_ frame: ClusterFrame) -> AOSStatus {
        guard frame.body.count <= configuration.maxMessageBytes else { return .tooBig }
        guard let receiver = table.lookup(frame.to) else { return .notFound }
        guard frame.body.count <= receiver.messageBytesQuota.load(ordering: .relaxed) else {
            receiver.refuseQuota(
                "message_bytes", syscall: "remote send",
                reason: "a \(frame.body.count)-byte message from \(frame.from) is over \(receiver.name)'s message_bytes quota")
            return .tooBig
        }
        let sender = identity(of: frame.from)
        let id = ids.mint()
        let kind: Envelope.Kind
        if frame.kind == .request {
            let (_, callerNode) = ClusterName.split(frame.from)!
            let pending = PendingReply(requestID: id, lock: ConditionLock())
            let replier = "\(frame.to)@\(node!)", callerID = frame.id, caller = frame.from
            pending.whenComplete { [weak self] outcome in
                let answer: ClusterFrame
                switch outcome {
                case .success(let body):
                    answer = ClusterFrame(kind: .reply, id: callerID, from: replier, to: caller, body: body)
                case .failure(let status):
                    answer = ClusterFrame(kind: .reply, status: status.rawValue, id: callerID, from: replier, to: caller)
                }
                self?.counters.repliesSent.increment()
                self?.publish(answer, to: callerNode)
            }
            kind = .request(pending, delegation: nil)
        } else {
            kind = .message
        }
        let envelope = Envelope(id: id, sender: sender, body: MessageBody(frame.body), kind: kind)
        let wait = min(frame.timeoutMs, Self.remoteMailboxWaitMs)
        let status = withExtendedLifetime(sender) {
            receiver.mailbox.push(envelope, until: wait == 0 ? nil : KernelCore.deadline(afterMilliseconds: wait))
        }
        if status != .ok, case .request(let pending, _) = kind {
            // The caller learns why through the reply the callback sends.
            pending.complete(.failure(status))
            return .ok
        }
        return status
    }

    /// A reply to one of this node's remote calls.
    private func replied(_ frame: ClusterFrame) {
        guard let (_, replierNode) = ClusterName.split(frame.from) else { return }
        guard frame.status <= 0 else { return reject("reply \(frame.id) from \(frame.from) carries status \(frame.status)") }
        let waiting: PendingReply? = state.withLock { state in
            guard let entry = state.pending[frame.id], entry.node == replierNode else { return nil }
            state.pending[frame.id] = nil
            return entry.reply
        }
        guard let waiting else { return reject("reply \(frame.id) from \(frame.from) answers no waiting call (unknown or expired)") }
        counters.repliesReceived.increment()
        waiting.complete(frame.status == 0 ? .success(frame.body) : .failure(AOSStatus(rawValue: frame.status)))
    }

    /// The sender identity of remote `name` (NAME@NODE), shared while the cache has room.
    private func identity(of name: String) -> SenderIdentity {
        state.withLock { state in
            if let known = state.identities[name] { return known }
            let made = SenderIdentity(name: name, instanceID: 0)
            if state.identities.count < Self.identityCacheLimit { state.identities[name] = made }
            return made
        }
    }

    /// Publishes `frame` on `node`'s subject; the link's status.
    @discardableResult
    func publish(_ frame: ClusterFrame, to node: String) -> AOSStatus {
        guard linkIsUp, !yielded.load(ordering: .relaxed), let link = state.withLock({ $0.link }) else { return .unreachable }
        return link.publish(ClusterName.subject(of: node), frame.encoded())
    }
}
