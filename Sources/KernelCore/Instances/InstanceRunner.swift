import CAgentOS
import Foundation
import Glibc

/// The body of an instance's OS thread: `init`, then one `on_message` per
/// mailbox message in order (a process-mode host is sent plain messages
/// ahead, by `PipelinedBatch`), then `stop`. Nothing here runs on another thread.
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

        // nil for a plugin; a process-mode image's proxy init finds its host launch here.
        var state: UnsafeMutableRawPointer? = instance.image.initialState
        let initStatus = AOSStatus(rawValue: instance.config.withCString { config in
            descriptor.`init`?(instance.handle, Syscalls.table, config, &state) ?? AOS_OK
        })
        own.pluginState = state
        guard initStatus == .ok else {
            instance.requestStop()
            services.messages { $0.returnUndelivered(instance.mailbox.close(), of: instance, logger: services.lifecycle { $0.logger }) }
            instance.transition(to: .failed, error: "init returned \(initStatus)")
            instance.log.append(.error, .kernel, "init failed: \(initStatus)")
            initDone(initStatus)
            own.forgetReceiver()
            services.lifecycle { $0.threadFinished(instance, finalState: .failed) }
            return
        }
        instance.transition(from: .loading, to: .running)
        initDone(.ok)
        if let handoff = instance.stateHandoff { restoreState(from: handoff, on: instance, descriptor: descriptor) }

        // A process-mode host takes plain messages ahead of each other's returns.
        let pipelined = instance.image.pipeline.map { PipelinedBatch(instance: instance, pipeline: $0, handler: descriptor.on_message) }
        while instance.mailbox.take() {
            // One clock read per message: a handler's end is the next one's start.
            var now = monotonicNanos()
            if let pipelined {
                pipelined.deliver(startingAt: now)
            } else {
                while let envelope = instance.mailbox.next() {
                    now = deliver(envelope, to: instance, handler: descriptor.on_message, startingAt: now)
                }
            }
            instance.metrics.handlerTimings.fold(&own.handlerTally)
        }
        let finalState = own.endedAfterCrash ?? .stopped
        own.forgetReceiver()
        own.loopEnded = true

        for pending in own.outstanding.values { pending.complete(.failure(.stopping)) }
        own.outstanding.removeAll()
        instance.toolGate.closeAndWait()
        if let handoff = instance.takeSuccessorHandoff() { saveState(into: handoff, on: instance, descriptor: descriptor) }
        descriptor.stop?(instance.handle, own.pluginState)
        services.lifecycle { $0.threadFinished(instance, finalState: finalState) }
    }

    /// Before the first message of an instance a reload made: waits for what
    /// the replaced instance saved (messages queue meanwhile) and passes it to
    /// `restore`. A process-mode host that dies in `restore` is a crash of this
    /// instance (`HostCrashes`): a restarted host runs on with what its init made.
    private static func restoreState(from handoff: StateHandoff, on instance: Instance, descriptor: aos_plugin_descriptor) {
        guard let restore = descriptor.handoffRestore else { return }
        var saved: [UInt8]?
        if instance.beginWait(on: instance.parker) {
            saved = handoff.wait { instance.stopRequested.load(ordering: .relaxed) }
            instance.endWait()
        }
        guard let saved else { return }
        let status = saved.withUnsafeBufferPointer { bytes in
            AOSStatus(rawValue: restore(instance.handle, instance.own.pluginState, aos_bytes(ptr: bytes.baseAddress, len: bytes.count)))
        }
        if status == .ok {
            instance.log.append(.info, .kernel, "restored \(saved.count) bytes of state from the version it replaced")
        } else if status == .crashed, instance.image.isolation == .process {
            instance.log.append(.error, .kernel, "the host crashed in restore of \(saved.count) bytes of state; handled as a crash of this instance")
            if let ended = HostCrashes.handle(on: instance, in: "restore") { endAfterCrash(instance, in: ended) }
        } else {
            instance.recordError("restore returned \(status.name)")
            instance.log.append(.warn, .kernel, "restore returned \(status) for \(saved.count) bytes of state; running on with what init made")
        }
    }

    /// After the last message of an instance a reload replaced: runs `save`
    /// and offers its bytes (nil: none) to the new instance.
    private static func saveState(into handoff: StateHandoff, on instance: Instance, descriptor: aos_plugin_descriptor) {
        guard let save = descriptor.handoffSave else {
            handoff.offer(nil)
            return
        }
        var out = aos_buffer(ptr: nil, len: 0)
        let status = AOSStatus(rawValue: save(instance.handle, instance.own.pluginState, &out))
        defer { free(out.ptr) }
        guard status == .ok else {
            instance.log.append(.warn, .kernel, "save returned \(status); the new version starts with what its init made")
            handoff.offer(nil)
            return
        }
        let bytes = out.ptr.map { Array(UnsafeBufferPointer(start: $0, count: out.len)) } ?? []
        instance.log.append(.info, .kernel, "saved \(bytes.count) bytes of state for the new version")
        handoff.offer(bytes)
    }

    typealias Handler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<aos_message>?) -> aos_status

    /// Hands `envelope` to the plugin: a tool call to the tool, anything else
    /// to `on_message`, timed from `start` (monotonic ns). Returns when it
    /// finished. Looks at the envelope's kind once.
    @inline(__always)
    static func deliver(_ envelope: Envelope, to instance: Instance, handler: Handler?, startingAt start: UInt64) -> UInt64 {
        switch envelope.kind {
        case .message:
            return handle(envelope, flags: 0, pending: nil, inference: nil, on: instance, handler: handler, startingAt: start)
        case .request(let reply, let delegation):
            instance.own.outstanding[envelope.id] = reply
            instance.own.delegation = delegation
            return handle(envelope, flags: AOS_MSG_REQUEST, pending: reply, inference: nil, on: instance, handler: handler, startingAt: start)
        case .inferenceResult(let outcome):
            return withInferenceResult(outcome) { result in
                handle(envelope, flags: AOS_MSG_INFERENCE, pending: nil, inference: result, on: instance, handler: handler, startingAt: start)
            }
        case .toolCall(let job):
            runToolCall(job, on: instance, startingAt: start)
            return monotonicNanos()
        }
    }

    /// Runs `on_message` for `envelope`, a request when `pending` is given and
    /// an inference result when `inference` is; returns when it finished.
    @inline(__always)
    private static func handle(
        _ envelope: Envelope, flags: UInt32, pending: PendingReply?, inference: UnsafePointer<aos_infer_result>?,
        on instance: Instance, handler: Handler?, startingAt start: UInt64
    ) -> UInt64 {
        let own = instance.own
        instance.handlerStartedAt.store(start)
        own.handling = envelope.id
        own.handlingInferenceResult = inference != nil
        defer {
            own.handling = 0
            own.delegation = nil
        }
        guard let handler else {
            instance.handlerStartedAt.store(0)
            instance.log.append(.warn, .kernel, "message \(envelope.id) from \(envelope.sender.name) dropped: tool plugins take no messages")
            if let pending, own.outstanding.removeValue(forKey: envelope.id) != nil { pending.complete(.failure(.handlerFailed)) }
            return monotonicNanos()
        }
        let status = envelope.body.withUnsafeBytes { body in
            envelope.withSession { session in
                var message = aos_message(
                    struct_size: UInt32(MemoryLayout<aos_message>.size), flags: flags, id: envelope.id, from: envelope.senderCName,
                    body: aos_bytes(ptr: body.baseAddress?.assumingMemoryBound(to: UInt8.self), len: body.count),
                    inference: inference, session: session)
                return AOSStatus(rawValue: handler(instance.handle, own.pluginState, &message))
            }
        }
        return handlerReturned(status, for: envelope, pending: pending, on: instance)
    }

    /// Calls `body` with `outcome` as the `aos_infer_result` of a message
    /// (`aos_message.inference`), its trace included; both are lent for the call.
    @inline(never)
    private static func withInferenceResult(
        _ outcome: Result<InferenceResult, KernelError>, _ body: (UnsafePointer<aos_infer_result>) -> UInt64
    ) -> UInt64 {
        var result = aos_infer_result(message: outcome)
        var trace = Array(((try? outcome.get())?.traceJSON ?? "").utf8)
        return trace.withUnsafeMutableBufferPointer { trace in
            if !trace.isEmpty { result.trace = aos_buffer(ptr: trace.baseAddress, len: trace.count) }
            return withUnsafePointer(to: &result, body)
        }
    }

    /// Ends the message loop of an instance whose host will not run again:
    /// queued requests fail with AOS_ECRASHED, other queued messages are dead letters.
    @inline(never)
    private static func endAfterCrash(_ instance: Instance, in state: InstanceState) {
        instance.own.endedAfterCrash = state
        instance.requestStop()
        instance.services.messages {
            $0.returnUndelivered(instance.mailbox.close(), of: instance, logger: instance.services.lifecycle { $0.logger }, status: .crashed)
        }
    }

    /// A call of one of this tool plugin's tools, on its own thread.
    private static func runToolCall(_ job: ToolCallJob, on instance: Instance, startingAt start: UInt64) {
        instance.handlerStartedAt.store(start)
        instance.services.tools { $0.run(job, on: instance) }
        instance.handlerStartedAt.store(0)
        if !instance.stopRequested.load(ordering: .relaxed), instance.transition(from: .hung, to: .running) {
            instance.log.append(.warn, .kernel, "a call of \(job.entry.tool.name) returned; running again")
        }
    }

    /// Times the handler, brings a hung instance back, and fails the request
    /// of a handler that failed. Returns the time it returned (monotonic ns).
    @inline(__always)
    static func handlerReturned(_ status: AOSStatus, for envelope: Envelope, pending: PendingReply?, on instance: Instance) -> UInt64 {
        let own = instance.own
        let started = instance.handlerStartedAt.exchange(0)
        let now = monotonicNanos()
        let elapsed = now &- started
        own.handlerTally.record(nanoseconds: elapsed)
        // Only a handler that outran the deadline can have been marked hung: skip the state lock otherwise.
        if elapsed > instance.handlerDeadlineNanos.load(ordering: .relaxed),
           !instance.stopRequested.load(ordering: .relaxed), instance.transition(from: .hung, to: .running) {
            let seconds = Double(elapsed) / 1e9
            instance.log.append(.warn, .kernel, "handler returned after \(String(format: "%.1f", seconds)) s; running again")
        }
        if status != .ok {
            instance.recordError("on_message returned \(status.name) for message \(envelope.id) from \(envelope.sender.name)")
            instance.log.append(.warn, .kernel, "on_message returned \(status) for message \(envelope.id) from \(envelope.sender.name)")
            // A process-mode host that died says so: its callers learn it crashed. (A thread-mode
            // handler returning AOS_ECRASHED only passes on a failed call's status.)
            let hostDied = status == .crashed && instance.image.isolation == .process
            let failure: AOSStatus = hostDied ? .crashed : .handlerFailed
            if let pending, own.outstanding.removeValue(forKey: envelope.id) != nil { pending.complete(.failure(failure)) }
            if hostDied, let ended = HostCrashes.handle(on: instance) {
                endAfterCrash(instance, in: ended)
            }
        }
        if own.outstanding.count > own.outstandingSweepAt {
            own.outstanding = own.outstanding.filter { !$0.value.isCompleted }
            own.outstandingSweepAt = max(4096, own.outstanding.count * 2)
        }
        return now
    }
}
