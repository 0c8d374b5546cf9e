import CAgentOS
import Foundation
import Glibc

/// The body of an instance's OS thread: `init`, then one `on_message` per
/// mailbox message in order, then `stop`. Nothing here runs on another thread.
enum InstanceRunner {
    /// Starts the thread. `initDone` receives `init`'s status once it returns.
    /// Throws when the OS refuses a thread. The thread is joined by the kernel's reaper.
    static func start(_ instance: Instance, initDone: @escaping @Sendable (AOSStatus) -> Void) throws(KernelError) {
        let body = ThreadBody { run(instance, initDone: initDone) }
        let argument = Unmanaged.passRetained(body).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
            body.run()
            return nil
        }, argument)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(argument).release()
            throw KernelError(.internal, "cannot start a thread for \(instance.name): \(String(cString: strerror(result)))")
        }
    }

    private static func run(_ instance: Instance, initDone: @Sendable (AOSStatus) -> Void) {
        instance.thread.store(pthread_self(), ordering: .relaxed)
        var clock = clockid_t()
        if pthread_getcpuclockid(pthread_self(), &clock) == 0 { instance.cpuClock.store(clock, ordering: .relaxed) }
        nameCurrentThread("aos:" + instance.name)
        let descriptor = instance.image.descriptor.pointee
        let kernel = instance.kernel

        var state: UnsafeMutableRawPointer?
        let initStatus = AOSStatus(rawValue: instance.config.withCString { config in
            descriptor.`init`?(instance.context, Syscalls.table, config, &state) ?? AOS_OK
        })
        instance.pluginState = state
        guard initStatus == .ok else {
            instance.requestStop()
            kernel.returnUndelivered(instance.mailbox.close(), of: instance)
            instance.transition(to: .failed, error: "init returned \(initStatus)")
            instance.log.append(.error, .kernel, "init failed: \(initStatus)")
            initDone(initStatus)
            instance.lastReceiver = nil
            instance.finalCPUNanos.store(threadCPUNanos(), ordering: .relaxed)
            kernel.instanceThreadFinished(instance, finalState: .failed)
            return
        }
        instance.transition(from: .loading, to: .running)
        initDone(.ok)

        while let envelope = instance.mailbox.pop() {
            deliver(envelope, to: instance, handler: descriptor.on_message)
        }
        instance.lastReceiver = nil
        instance.loopEnded = true

        for pending in instance.outstanding.values { pending.complete(.failure(.stopping)) }
        instance.outstanding.removeAll()
        instance.toolGate.closeAndWait()
        descriptor.stop?(instance.context, instance.pluginState)
        instance.finalCPUNanos.store(threadCPUNanos(), ordering: .relaxed)
        kernel.instanceThreadFinished(instance, finalState: .stopped)
    }

    private typealias Handler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<aos_message>?) -> aos_status

    @inline(__always)
    private static func deliver(_ envelope: Envelope, to instance: Instance, handler: Handler?) {
        if let pending = envelope.pendingReply {
            instance.outstanding[envelope.id] = pending
        }
        instance.handlerStartedAt.store(monotonicNanos(), ordering: .relaxed)
        if let job = envelope.toolCall {
            instance.kernel.run(job, on: instance)
            instance.handlerStartedAt.store(0, ordering: .relaxed)
            if !instance.stopRequested.load(ordering: .relaxed), instance.transition(from: .hung, to: .running) {
                instance.log.append(.warn, .kernel, "a call of \(job.entry.tool.name) returned; running again")
            }
            return
        }
        instance.handling = envelope.id
        instance.handlingInferenceResult = envelope.inference != nil
        instance.delegation = envelope.delegation
        defer {
            instance.handling = 0
            instance.delegation = nil
        }
        guard let handler else {
            instance.handlerStartedAt.store(0, ordering: .relaxed)
            instance.log.append(.warn, .kernel, "message \(envelope.id) from \(envelope.sender.name) dropped: tool plugins take no messages")
            if let pending = envelope.pendingReply, instance.outstanding.removeValue(forKey: envelope.id) != nil {
                pending.complete(.failure(.handlerFailed))
            }
            return
        }
        let status = envelope.body.withUnsafeBufferPointer { body in
            var message = aos_message(
                struct_size: UInt32(MemoryLayout<aos_message>.size),
                flags: envelope.inference != nil ? AOS_MSG_INFERENCE
                    : envelope.pendingReply == nil ? 0 : AOS_MSG_REQUEST,
                id: envelope.id,
                from: UnsafePointer(envelope.sender.cName),
                body: aos_bytes(ptr: body.baseAddress, len: body.count),
                inference: nil
            )
            guard var result = envelope.inference.map(aos_infer_result.init(message:)) else {
                return AOSStatus(rawValue: handler(instance.context, instance.pluginState, &message))
            }
            // The trace is lent like the body: valid until on_message returns.
            var trace = Array(((try? envelope.inference?.get())?.traceJSON ?? "").utf8)
            return trace.withUnsafeMutableBufferPointer { trace in
                if !trace.isEmpty { result.trace = aos_buffer(ptr: trace.baseAddress, len: trace.count) }
                return withUnsafePointer(to: &result) { result in
                    message.inference = result
                    return AOSStatus(rawValue: handler(instance.context, instance.pluginState, &message))
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
            if let pending = envelope.pendingReply, instance.outstanding.removeValue(forKey: envelope.id) != nil {
                pending.complete(.failure(.handlerFailed))
            }
        }
        if instance.outstanding.count > instance.outstandingSweepAt {
            instance.outstanding = instance.outstanding.filter { !$0.value.isCompleted }
            instance.outstandingSweepAt = max(4096, instance.outstanding.count * 2)
        }
    }
}

/// The calling thread's CPU time in ns.
private func threadCPUNanos() -> UInt64 {
    var time = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Names the calling thread for `top -H` and debuggers (15 bytes at most, as Linux allows).
private func nameCurrentThread(_ name: String) {
    let file = open("/proc/thread-self/comm", O_WRONLY)
    guard file >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = write(file, bytes, bytes.count)
    close(file)
}

/// Carries the thread's closure through `pthread_create`'s `void *`.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
