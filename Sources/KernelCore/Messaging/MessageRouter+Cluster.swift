import CAgentOS

extension MessageRouter {
    /// `send` to a name no local agent has: NAME@NODE, or a plain name that
    /// runs on one other node (see `ClusterService.resolve`). The sender must
    /// hold send: for the full remote name.
    func sendRemote(from instance: Instance, to: UnsafePointer<CChar>, body: aos_bytes, timeoutMs: UInt32) -> AOSStatus {
        switch remoteTarget(from: instance, to: to, body: body, .send) {
        case .failure(let status):
            return status
        case .success(.local(let name)):
            return name.withCString { send(from: instance, to: $0, body: body, timeoutMs: timeoutMs) }
        case .success(.remote(let name, let node)):
            let status = cluster.send(from: instance.name, to: name, node: node, body: copy(body), timeoutMs: timeoutMs)
            if status == .ok { instance.messagesOut.increment() } else { countRefusal(status, from: instance) }
            return status
        }
    }

    /// `call` to a name no local agent has; waits for the remote reply as a
    /// local call does (the caller's timeout; unloading interrupts it).
    func callRemote(
        from instance: Instance, to: UnsafePointer<CChar>, body: aos_bytes, timeoutMs: UInt32,
        reply: UnsafeMutablePointer<aos_buffer>, _ syscall: Syscall
    ) -> AOSStatus {
        switch remoteTarget(from: instance, to: to, body: body, syscall) {
        case .failure(let status):
            return status
        case .success(.local(let name)):
            return name.withCString { call(from: instance, to: $0, body: body, timeoutMs: timeoutMs, reply: reply, syscall) }
        case .success(.remote(let name, let node)):
            guard timeoutMs != 0 else { return .invalidArgument }
            let until = Self.deadline(timeoutMs)
            switch cluster.beginCall(
                from: instance.name, to: name, node: node, body: copy(body), timeoutMs: timeoutMs, lock: instance.parker) {
            case .failure(let status):
                countRefusal(status, from: instance)
                return status
            case .success(let pending):
                instance.messagesOut.increment()
                let status = awaitReply(pending, of: instance, until: until, into: reply)
                cluster.endCall(pending)
                return status
            }
        }
    }

    /// Where `to` lives once the sender may send there and the body fits its
    /// own message_bytes quota; a refusal is counted (and a denial audited).
    private func remoteTarget(
        from instance: Instance, to: UnsafePointer<CChar>, body: aos_bytes, _ syscall: Syscall
    ) -> Result<ClusterService.Destination, AOSStatus> {
        let target = String(cString: to)
        let destination: ClusterService.Destination
        do {
            destination = try cluster.resolve(target)
        } catch {
            // An agent that may not send to `to` learns nothing of where, or whether, it runs.
            let status = instance.maySend(to: target, syscall) ? error.status : .permissionDenied
            countRefusal(status, from: instance)
            return .failure(status)
        }
        guard case .remote(let name, let node) = destination else { return .success(destination) }
        let full = "\(name)@\(node)"
        guard instance.maySend(to: full, syscall) else {
            countRefusal(.permissionDenied, from: instance)
            return .failure(.permissionDenied)
        }
        let limit = instance.messageBytesQuota.load(ordering: .relaxed)
        if instance.checksPolicy, body.len > limit {
            instance.refuseQuota(
                "message_bytes", syscall: syscall.name,
                reason: "a \(body.len)-byte message to \(full) is over \(instance.name)'s message_bytes quota (\(limit))")
            countRefusal(.tooBig, from: instance)
            return .failure(.tooBig)
        }
        return .success(destination)
    }
}
