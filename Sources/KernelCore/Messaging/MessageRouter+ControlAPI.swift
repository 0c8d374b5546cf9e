import Foundation

extension MessageRouter {
    /// Queues `body` for `name` from the control API ("agentctl"). With `wait`,
    /// sends a request and suspends until the reply or `timeoutMs`.
    /// Never blocks a thread: a full mailbox is refused at once.
    ///
    /// Returns the message id and, with `wait`, the reply and the inference
    /// requests behind it (see `AnswerLinks`). Throws `.notFound`, `.tooBig`,
    /// `.full`, `.stopping`, `.timedOut` or `.handlerFailed`. With `session`
    /// (checked: `.invalidArgument`), the receiver sees it as `aos_message.session`;
    /// a session cannot be named to an agent on another node (`.invalidArgument`).
    public func deliver(
        to name: String, body: [UInt8], wait: Bool, timeoutMs: UInt32, session: String? = nil
    ) async throws(KernelError) -> (messageID: UInt64, reply: [UInt8]?, inference: [UInt64]) {
        if let session { try SessionService.validate(session) }
        if cluster.isJoined, name.utf8.contains(UInt8(ascii: "@")) || table.lookup(name) == nil {
            guard session == nil else {
                throw KernelError(.invalidArgument, "a session can be named only to an agent of this kernel, not \(name)")
            }
            return try await deliverRemote(to: name, body: body, wait: wait, timeoutMs: timeoutMs)
        }
        let receiver = try controlReceiver(name, bytes: body.count)
        let id = mintID()
        let pending = wait ? PendingReply(requestID: id, lock: ConditionLock()) : nil
        let kind: Envelope.Kind = pending.map { .request($0, delegation: nil) } ?? .message
        switch enqueue(Envelope(id: id, sender: .controlAPI, body: MessageBody(body), kind: kind, session: session), to: receiver, from: nil, timeoutMs: 0) {
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
        case .failure(.crashed):
            throw KernelError(.crashed, "\(name) crashed while it handled the request (see `agentctl ps \(name)` and `agentctl logs \(name)`)")
        case .failure(.stopping):
            throw KernelError(.stopping, "\(name) was unloaded before it replied")
        case .failure(let status):
            throw KernelError(.internal, "request to \(name) failed: \(status)")
        }
    }

    /// `deliver` to a name no local agent has (see `ClusterService.resolve`).
    private func deliverRemote(
        to target: String, body: [UInt8], wait: Bool, timeoutMs: UInt32
    ) async throws(KernelError) -> (messageID: UInt64, reply: [UInt8]?, inference: [UInt64]) {
        guard body.count <= configuration.maxMessageBytes else {
            countRefusal(.tooBig, from: nil)
            throw KernelError(.tooBig, "message is \(body.count) bytes; the limit is \(configuration.maxMessageBytes) (agentosd --max-message-bytes)")
        }
        let destination: ClusterService.Destination
        do {
            destination = try cluster.resolve(target)
        } catch {
            countRefusal(error.status, from: nil)
            throw error
        }
        switch destination {
        case .local(let name):
            return try await deliver(to: name, body: body, wait: wait, timeoutMs: timeoutMs)
        case .remote(let name, let node):
            do {
                let (id, reply) = try await cluster.deliver(to: target, name: name, node: node, body: body, wait: wait, timeoutMs: timeoutMs)
                return (id, reply, [])
            } catch {
                countRefusal(error.status, from: nil)
                throw error
            }
        }
    }

    /// The receiver of a control API message of `bytes` bytes, once the size limits allow it.
    private func controlReceiver(_ name: String, bytes: Int) throws(KernelError) -> Instance {
        guard bytes <= configuration.maxMessageBytes else {
            countRefusal(.tooBig, from: nil)
            throw KernelError(.tooBig, "message is \(bytes) bytes; the limit is \(configuration.maxMessageBytes) (agentosd --max-message-bytes)")
        }
        guard let receiver = table.lookup(name) else {
            countRefusal(.notFound, from: nil)
            throw KernelError(.notFound, "no agent named \(name) is running (see `agentctl ps`)")
        }
        let receiveLimit = receiver.messageBytesQuota.load(ordering: .relaxed)
        guard bytes <= receiveLimit else {
            let reason = "a \(bytes)-byte message is over \(name)'s message_bytes quota (\(receiveLimit))"
            receiver.refuseQuota("message_bytes", syscall: "agentctl send", reason: reason)
            countRefusal(.tooBig, from: nil)
            throw KernelError(.tooBig, reason)
        }
        return receiver
    }
}
