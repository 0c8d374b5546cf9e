import CAgentOS
import Foundation
import Glibc

/// The body of an instance's OS thread: `init`, then one `on_message` per
/// mailbox message in order, then `stop`. Nothing here runs on another thread.
enum InstanceRunner {
    /// Starts the instance's thread (`Instance.thread`). `initDone` receives
    /// `init`'s status once it returns. Throws when the OS refuses a thread.
    /// The thread is joined by the kernel's reaper.
    static func start(_ instance: Instance, initDone: @escaping @Sendable (AOSStatus) -> Void) throws(KernelError) {
        try instance.thread.start { run(instance, initDone: initDone) }
    }

    private static func run(_ instance: Instance, initDone: @Sendable (AOSStatus) -> Void) {
        instance.threadID.store(pthread_self(), ordering: .relaxed)
        let descriptor = instance.image.descriptor.pointee
        let services = instance.services
        let own = instance.own

        var state: UnsafeMutableRawPointer?
        let initStatus = AOSStatus(rawValue: instance.config.withCString { config in
            descriptor.`init`?(instance.handle, Syscalls.table, config, &state) ?? AOS_OK
        })
        own.pluginState = state
        guard initStatus == .ok else {
            instance.requestStop()
            services.messages.returnUndelivered(instance.mailbox.close(), of: instance, logger: services.lifecycle.logger)
            instance.transition(to: .failed, error: "init returned \(initStatus)")
            instance.log.append(.error, .kernel, "init failed: \(initStatus)")
            initDone(initStatus)
            own.lastReceiver = nil
            services.lifecycle.threadFinished(instance, finalState: .failed)
            return
        }
        instance.transition(from: .loading, to: .running)
        initDone(.ok)

        while instance.mailbox.take() {
            while let envelope = instance.mailbox.next() {
                deliver(envelope, to: instance, handler: descriptor.on_message)
            }
        }
        own.lastReceiver = nil
        own.loopEnded = true

        for pending in own.outstanding.values { pending.complete(.failure(.stopping)) }
        own.outstanding.removeAll()
        instance.toolGate.closeAndWait()
        descriptor.stop?(instance.handle, own.pluginState)
        services.lifecycle.threadFinished(instance, finalState: .stopped)
    }

    private typealias Handler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<aos_message>?) -> aos_status

    @inline(__always)
    private static func deliver(_ envelope: Envelope, to instance: Instance, handler: Handler?) {
        let own = instance.own
        if let pending = envelope.pendingReply {
            own.outstanding[envelope.id] = pending
        }
        instance.handlerStartedAt.store(monotonicNanos(), ordering: .relaxed)
        if case .toolCall(let job) = envelope.kind {
            instance.services.tools.run(job, on: instance)
            instance.handlerStartedAt.store(0, ordering: .relaxed)
            if !instance.stopRequested.load(ordering: .relaxed), instance.transition(from: .hung, to: .running) {
                instance.log.append(.warn, .kernel, "a call of \(job.entry.tool.name) returned; running again")
            }
            return
        }
        var inference: Result<InferenceResult, KernelError>?
        if case .inferenceResult(let outcome) = envelope.kind { inference = outcome }
        own.handling = envelope.id
        own.handlingInferenceResult = inference != nil
        if case .request(_, let delegation) = envelope.kind { own.delegation = delegation }
        defer {
            own.handling = 0
            own.delegation = nil
        }
        guard let handler else {
            instance.handlerStartedAt.store(0, ordering: .relaxed)
            instance.log.append(.warn, .kernel, "message \(envelope.id) from \(envelope.sender.name) dropped: tool plugins take no messages")
            if let pending = envelope.pendingReply, own.outstanding.removeValue(forKey: envelope.id) != nil {
                pending.complete(.failure(.handlerFailed))
            }
            return
        }
        let status = envelope.body.withUnsafeBufferPointer { body in
            var message = aos_message(
                struct_size: UInt32(MemoryLayout<aos_message>.size),
                flags: inference != nil ? AOS_MSG_INFERENCE
                    : envelope.pendingReply == nil ? 0 : AOS_MSG_REQUEST,
                id: envelope.id,
                from: UnsafePointer(envelope.sender.cName),
                body: aos_bytes(ptr: body.baseAddress, len: body.count),
                inference: nil
            )
            guard var result = inference.map(aos_infer_result.init(message:)) else {
                return AOSStatus(rawValue: handler(instance.handle, own.pluginState, &message))
            }
            // The trace is lent like the body: valid until on_message returns.
            var trace = Array(((try? inference?.get())?.traceJSON ?? "").utf8)
            return trace.withUnsafeMutableBufferPointer { trace in
                if !trace.isEmpty { result.trace = aos_buffer(ptr: trace.baseAddress, len: trace.count) }
                return withUnsafePointer(to: &result) { result in
                    message.inference = result
                    return AOSStatus(rawValue: handler(instance.handle, own.pluginState, &message))
                }
            }
        }
        let started = instance.handlerStartedAt.exchange(0, ordering: .relaxed)
        // Only a handler that outran the deadline can have been marked hung: skip the state lock otherwise.
        let elapsed = monotonicNanos() &- started
        instance.metrics.handlerDuration.recordNanoseconds(Int64(clamping: elapsed))
        if elapsed > instance.handlerDeadlineNanos.load(ordering: .relaxed),
           !instance.stopRequested.load(ordering: .relaxed), instance.transition(from: .hung, to: .running) {
            let seconds = Double(elapsed) / 1e9
            instance.log.append(.warn, .kernel, "handler returned after \(String(format: "%.1f", seconds)) s; running again")
        }
        if status != .ok {
            instance.recordError("on_message returned \(status.name) for message \(envelope.id) from \(envelope.sender.name)")
            instance.log.append(.warn, .kernel, "on_message returned \(status) for message \(envelope.id) from \(envelope.sender.name)")
            if let pending = envelope.pendingReply, own.outstanding.removeValue(forKey: envelope.id) != nil {
                pending.complete(.failure(.handlerFailed))
            }
        }
        if own.outstanding.count > own.outstandingSweepAt {
            own.outstanding = own.outstanding.filter { !$0.value.isCompleted }
            own.outstandingSweepAt = max(4096, own.outstanding.count * 2)
        }
    }
}
