import CAgentOS
import Glibc

/// The inference syscalls and the control API's way to the engine.
extension Kernel {
    // MARK: Control API

    /// Queues an inference request accounted to `agent` (an instance name or
    /// "agentctl") and returns it; `sink` receives the output on an engine thread.
    /// Throws `.engineUnavailable` without an engine, or why the request is refused.
    public func submitInference(
        agent: String, priority: Int, parameters: InferenceParameters, sink: InferenceSink
    ) throws(KernelError) -> InferenceRequest {
        let request = InferenceRequest(
            id: mintMessageID(), agent: agent, owner: 0, priority: priority, parameters: parameters,
            submittedAt: monotonicNanos(), sink: sink)
        try submit(request)
        return request
    }

    // MARK: Syscalls

    /// `infer` and `infer_stream`: queue, then wait on the caller's thread,
    /// handing pieces to `onToken` when given.
    func infer(
        from instance: Instance, request: UnsafePointer<aos_infer_request>?, result: UnsafeMutablePointer<aos_infer_result>?,
        onToken: aos_token_fn?, user: UnsafeMutableRawPointer?, streaming: Bool
    ) -> AOSStatus {
        guard instance.isOwnThread else { return .wrongThread }
        guard let result, Int(result.pointee.struct_size) >= MemoryLayout<aos_infer_result>.size else {
            return refuse(instance, "infer", KernelError(.invalidArgument, "result is NULL or its struct_size is too small"))
        }
        result.pointee.text = aos_buffer(ptr: nil, len: 0)
        if streaming && onToken == nil {
            return refuse(instance, "infer_stream", KernelError(.invalidArgument, "on_token is NULL"))
        }
        let channel = InferenceChannel(streaming: streaming)
        let inference: InferenceRequest
        switch makeRequest(for: instance, request, id: mintMessageID(), sink: channel) {
        case .failure(let error): return refuse(instance, streaming ? "infer_stream" : "infer", error)
        case .success(let request): inference = request
        }
        do throws(KernelError) { try submit(inference) } catch {
            return refuse(instance, "infer", error)
        }

        // Waiting on the engine is not the handler's own time: pause its deadline.
        let handlerStart = instance.handlerStartedAt.exchange(0, ordering: .relaxed)
        let waitStart = monotonicNanos()
        defer {
            if handlerStart != 0 {
                instance.handlerStartedAt.store(handlerStart &+ (monotonicNanos() &- waitStart), ordering: .relaxed)
            }
        }
        guard instance.beginWait(on: channel.lock) else {
            inference.cancel()
            return .stopping
        }
        defer { instance.endWait() }
        while true {
            switch channel.next(interrupted: { instance.stopRequested.load(ordering: .relaxed) }) {
            case .pieces(let pieces):
                guard let onToken, !inference.isCancelled else { continue }
                for piece in pieces {
                    var piece = piece
                    let status = piece.withUTF8 { bytes in
                        bytes.withMemoryRebound(to: CChar.self) { onToken(user, $0.baseAddress, $0.count) }
                    }
                    if status != AOS_OK {
                        inference.cancel()
                        break
                    }
                }
            case .interrupted:
                inference.cancel()
                return .stopping
            case .finished(.failure(let error)):
                return refuse(instance, "infer", error, request: inference.id)
            case .finished(.success(let value)):
                guard result.pointee.fill(value, text: true) else { return .outOfMemory }
                result.pointee.status = AOS_OK
                return .ok
            }
        }
    }

    /// `infer_submit`: queue, answer later through the mailbox.
    func inferSubmit(from instance: Instance, request: UnsafePointer<aos_infer_request>?, requestID: UnsafeMutablePointer<UInt64>?) -> AOSStatus {
        guard instance.isOwnThread else { return .wrongThread }
        guard let requestID else { return refuse(instance, "infer_submit", KernelError(.invalidArgument, "request_id is NULL")) }
        guard !instance.stopRequested.load(ordering: .relaxed) else { return .stopping }
        let id = mintMessageID()
        switch makeRequest(for: instance, request, id: id, sink: MailboxInferenceSink(instance: instance, requestID: id)) {
        case .failure(let error): return refuse(instance, "infer_submit", error)
        case .success(let inference):
            do throws(KernelError) { try submit(inference) } catch {
                return refuse(instance, "infer_submit", error)
            }
            requestID.pointee = id
            return .ok
        }
    }

    /// `infer_cancel`.
    func inferCancel(from instance: Instance, requestID: UInt64) -> AOSStatus {
        scheduler.cancel(id: requestID, owner: instance.id) ? .ok : .notFound
    }

    // MARK: Helpers

    private func makeRequest(
        for instance: Instance, _ request: UnsafePointer<aos_infer_request>?, id: UInt64, sink: InferenceSink
    ) -> Result<InferenceRequest, KernelError> {
        InferenceParameters.fromABI(request).map { parameters, priority in
            InferenceRequest(
                id: id, agent: instance.name, owner: instance.id, priority: instance.priority + priority,
                parameters: parameters, submittedAt: monotonicNanos(), sink: sink)
        }
    }

    /// Checks `request` against the limits and the engine, then queues it.
    private func submit(_ request: InferenceRequest) throws(KernelError) {
        guard let engine else {
            throw KernelError(.engineUnavailable, "no inference engine: agentosd was started with --engine none")
        }
        try request.parameters.validate()
        try engine.validate(request.parameters)
        try scheduler.submit(request)
    }

    /// Logs why a syscall failed in the instance's log (the status alone cannot say) and returns its status.
    private func refuse(_ instance: Instance, _ syscall: String, _ error: KernelError, request: UInt64? = nil) -> AOSStatus {
        let subject = request.map { "\(syscall) request \($0)" } ?? syscall
        instance.log.append(.warn, .kernel, "\(subject): \(error.message) (\(error.status.name))")
        return error.status
    }
}
