import Synchronization

/// Shared inference over the cluster, both ends.
///
/// Serving (`--serve-engine MODEL`): a request arriving on
/// `agentos.infer.MODEL` (queue group: one serving kernel takes it) is
/// answered at once with an empty chunk (so the caller learns the node), then
/// queued on this kernel's scheduler accounted to the caller's full name
/// NAME@NODE, fair-shared with local agents; its text streams back as chunks
/// on the caller's node subject and an end frame closes it. A cancel frame, or
/// the caller's node leaving the directory, cancels it.
///
/// Calling (`ClusterEngine`): each request is a stream, by id, until its end
/// frame arrives. It fails with AOS_EUNREACHABLE when no kernel took it within
/// `acceptSeconds`, when its serving node leaves the directory (killed: after
/// `nodeTimeoutSeconds`), or when the link goes down; never a hang.
extension ClusterService {
    /// Seconds a request waits for a serving kernel to take it.
    static let acceptSeconds = 5.0

    /// A request of this kernel's `ClusterEngine` waiting for its stream.
    struct RemoteStream {
        let request: InferenceRequest
        let model: String
        let sentAt: UInt64
        /// The serving node, once it took the request.
        var node: String?
        /// Tokens recorded from chunks so far (one a chunk).
        var tokens = 0
        let ended: @Sendable (RemoteInference.End?) -> Void
    }

    /// A request this kernel serves for another node.
    struct ServedRequest {
        let handle: any InferenceHandle
        let takenAt: UInt64
    }

    /// Serves this kernel's engine to the cluster through `inference` (set by `Kernel`).
    func serve(_ inference: InferenceService) {
        state.withLock { $0.inference = inference }
    }

    /// Requests taken from other nodes, by their agent's full name, since start.
    public func servedInference() -> [String: UInt64] { state.withLock { $0.servedByAgent } }

    /// Streams of this kernel's `ClusterEngine` waiting now.
    public var remoteInferenceStreams: Int { state.withLock { $0.streams.count } }

    // MARK: Calling

    /// Sends `request` to a kernel serving `model`; `ended` runs once it ended
    /// (with the end frame, or nil when it failed here). Never blocks on the network.
    public func inferRemotely(_ request: InferenceRequest, model: String, ended: @escaping @Sendable (RemoteInference.End?) -> Void) {
        guard let me = node else { return fail(request, KernelError(.engineUnavailable, "--engine cluster needs --cluster and --node"), ended) }
        do throws(KernelError) { try checkLinkForInference(model) } catch { return fail(request, error, ended) }
        let body = RemoteInference.Request(request.parameters, priority: request.priority).encoded()
        guard body.count <= RemoteInference.maxRequestBytes else {
            return fail(request, KernelError(.tooBig, "the request is \(body.count) bytes: over the cluster's \(RemoteInference.maxRequestBytes)"), ended)
        }
        let id = ids.mint()
        let agent = ClusterName.isValidAgent(request.agent) ? request.agent : "agentctl"
        let frame = ClusterFrame(kind: .inferRequest, id: id, from: "\(agent)@\(me)", to: model, body: body)
        request.markStarted(at: monotonicNanos())
        state.withLock { $0.streams[id] = RemoteStream(request: request, model: model, sentAt: monotonicNanos(), ended: ended) }
        request.onCancel { [weak self] in self?.cancelStream(id) }
        counters.inferRequests.increment()
        let link = state.withLock { $0.link }
        let status = link?.publish(ClusterName.inferSubject(of: model), frame.encoded()) ?? .unreachable
        if status != .ok {
            endStream(id, KernelError(status == .tooBig ? .tooBig : .unreachable, "cannot send the request for model \(model) to the cluster: \(status)"))
        }
    }

    private func checkLinkForInference(_ model: String) throws(KernelError) {
        if let conflict = nameConflict { throw KernelError(.unreachable, "model \(model) cannot be reached: \(conflict)") }
        guard linkIsUp else { throw KernelError(.unreachable, "the cluster link is down: model \(model) cannot be reached") }
    }

    private func fail(_ request: InferenceRequest, _ error: KernelError, _ ended: @Sendable (RemoteInference.End?) -> Void) {
        counters.inferFailures.increment()
        request.fail(error)
        ended(nil)
    }

    /// The caller cancelled: the stream ends here at once, and the serving node is told.
    private func cancelStream(_ id: UInt64) {
        guard let stream = state.withLock({ $0.streams.removeValue(forKey: id) }) else { return }
        if let serving = stream.node, let me = node { publish(ClusterFrame(kind: .inferCancel, id: id, from: me, to: serving), to: serving) }
        stream.request.finish(.cancelled, at: monotonicNanos())
        stream.ended(nil)
    }

    /// Ends stream `id` with `error`, if it still waits.
    func endStream(_ id: UInt64, _ error: KernelError) {
        guard let stream = state.withLock({ $0.streams.removeValue(forKey: id) }) else { return }
        counters.inferFailures.increment()
        stream.request.fail(error)
        stream.ended(nil)
    }

    /// Streams that waited too long for a taker, or whose serving node is gone; from `tick`.
    func expireStreams(now: UInt64) {
        let accept = UInt64(Self.acceptSeconds * 1e9)
        let expired = state.withLock { state -> [(UInt64, KernelError)] in
            state.streams.compactMap { id, stream in
                if let serving = stream.node {
                    // A node counts as gone only once a caller could have heard its announcements.
                    guard state.nodes[serving] == nil, now &- stream.sentAt > UInt64(Self.nodeTimeoutSeconds * 1e9) else { return nil }
                    return (id, KernelError(.unreachable, "node \(serving) serving model \(stream.model) is gone (silent for \(Int(Self.nodeTimeoutSeconds)) s, or left)"))
                }
                guard now &- stream.sentAt > accept else { return nil }
                return (id, KernelError(.unreachable, "no kernel in the cluster took the request for model \(stream.model) within \(Int(Self.acceptSeconds)) s (is one started with --serve-engine \(stream.model)?)"))
            }
        }
        for (id, error) in expired { endStream(id, error) }
    }

    /// Every waiting stream fails: the link went down.
    func failAllStreams() {
        let ids = state.withLock { Array($0.streams.keys) }
        for id in ids { endStream(id, KernelError(.unreachable, "the cluster link went down during a remote inference")) }
    }

    /// A chunk for one of this kernel's streams.
    func inferChunk(_ frame: ClusterFrame) {
        enum Outcome { case record(InferenceRequest, String), taken, stray, wrongNode }
        let outcome = state.withLock { state -> Outcome in
            guard var stream = state.streams[frame.id] else { return .stray }
            if let serving = stream.node, serving != frame.from { return .wrongNode }
            stream.node = frame.from
            if !frame.body.isEmpty { stream.tokens += 1 }
            state.streams[frame.id] = stream
            return frame.body.isEmpty ? .taken : .record(stream.request, String(decoding: frame.body, as: UTF8.self))
        }
        switch outcome {
        case .record(let request, let piece): request.record(tokens: 1, piece: piece, at: monotonicNanos())
        case .taken: break
        case .stray:
            // Cancelled before the serving node was known, or already ended: stop it there too.
            if frame.body.isEmpty, let me = node { publish(ClusterFrame(kind: .inferCancel, id: frame.id, from: me, to: frame.from), to: frame.from) }
        case .wrongNode: rejectFrame("inference chunk \(frame.id) from \(frame.from), which does not serve that stream")
        }
    }

    /// The end of one of this kernel's streams.
    func inferEnded(_ frame: ClusterFrame) {
        guard let end = RemoteInference.End(decoding: frame.body) else {
            rejectFrame("inference end \(frame.id) from \(frame.from) is not an end body")
            return endStream(frame.id, KernelError(.engineFailed, "node \(frame.from) sent a malformed end of stream"))
        }
        let stream = state.withLock { state -> RemoteStream? in
            guard let stream = state.streams[frame.id], stream.node == nil || stream.node == frame.from else { return nil }
            return state.streams.removeValue(forKey: frame.id)
        }
        guard let stream else { return }  // cancelled here meanwhile
        let now = monotonicNanos()
        if let error = end.error {
            counters.inferFailures.increment()
            stream.request.fail(error)
        } else {
            stream.request.setPromptTokens(end.promptTokens, cached: end.cachedPromptTokens)
            if end.completionTokens > stream.tokens { stream.request.record(tokens: end.completionTokens - stream.tokens, piece: "", at: now) }
            stream.request.finish(FinishReason(rawValue: end.finishReason) ?? .stop, toolCalls: end.toolCalls, at: now)
        }
        stream.ended(end)
    }

    // MARK: Serving

    /// A request for a model from another node (the link's queue subscription).
    func inferRequested(_ frame: ClusterFrame) {
        guard let (_, callerNode) = ClusterName.split(frame.from), let me = node else { return }
        let (inference, model) = state.withLock { ($0.inference, configuration.servedModel) }
        guard let inference, let model, model == frame.to else {
            return rejectFrame("inference request for model \(frame.to), which this kernel does not serve")
        }
        let parameters: InferenceParameters
        do throws(KernelError) {
            let request = try RemoteInference.Request(decoding: frame.body)
            parameters = try request.parameters()
            let sink = RemoteInferenceSink(service: self, streamID: frame.id, me: me, caller: callerNode)
            publish(ClusterFrame(kind: .inferChunk, id: frame.id, from: me, to: callerNode), to: callerNode)
            let handle = try inference.submit(agent: frame.from, priority: request.priority, parameters: parameters, sink: sink)
            counters.inferServed.increment()
            state.withLock { state in
                state.servedByAgent[frame.from, default: 0] += 1
                // The sink may have ended it already (a quick refusal): keep only what still runs.
                if !sink.isFinished {
                    state.served[ServedKey(node: callerNode, id: frame.id)] = ServedRequest(handle: handle, takenAt: monotonicNanos())
                }
            }
        } catch {
            if error.code == .invalidArgument || error.code == .tooBig { rejectFrame("inference request \(frame.id) from \(frame.from): \(error.message)") }
            let end = RemoteInference.End(.failure(error))
            publish(ClusterFrame(kind: .inferEnd, id: frame.id, from: me, to: callerNode, body: end.encoded()), to: callerNode)
        }
    }

    /// The caller cancelled a request served here.
    func inferCancelled(_ frame: ClusterFrame) {
        state.withLock { $0.served.removeValue(forKey: ServedKey(node: frame.from, id: frame.id)) }?.handle.cancel()
    }

    /// A served request ended (its end frame is sent).
    func servedEnded(node: String, id: UInt64) {
        _ = state.withLock { $0.served.removeValue(forKey: ServedKey(node: node, id: id)) }
    }

    /// Served requests whose caller's node left the directory are cancelled; from `tick`.
    func cancelOrphanedServed(now: UInt64) {
        let grace = UInt64(Self.nodeTimeoutSeconds * 1e9)
        let orphans = state.withLock { state -> [any InferenceHandle] in
            let gone = state.served.filter { state.nodes[$0.key.node] == nil && now &- $0.value.takenAt > grace }
            for key in gone.keys { state.served[key] = nil }
            return gone.values.map(\.handle)
        }
        for handle in orphans { handle.cancel() }
    }

    func rejectFrame(_ reason: String) {
        counters.rejectedFrames.increment()
        lastRejection.withLock { $0 = reason }
    }
}

/// A served request's key: the caller's node and its stream id.
struct ServedKey: Hashable {
    let node: String
    let id: UInt64
}

/// Streams a served request back to its caller's node: each piece a chunk,
/// then the end frame. Called on the engine's thread; publishing never blocks.
final class RemoteInferenceSink: InferenceSink {
    private let service: ClusterService
    private let streamID: UInt64
    private let me: String
    private let caller: String
    private let done = Atomic<Bool>(false)

    init(service: ClusterService, streamID: UInt64, me: String, caller: String) {
        self.service = service
        self.streamID = streamID
        self.me = me
        self.caller = caller
    }

    var isFinished: Bool { done.load(ordering: .relaxed) }

    func received(_ piece: String) {
        service.publish(ClusterFrame(kind: .inferChunk, id: streamID, from: me, to: caller, body: Array(piece.utf8)), to: caller)
    }

    func finished(_ outcome: Result<InferenceResult, KernelError>) {
        done.store(true, ordering: .relaxed)
        let end = RemoteInference.End(outcome)
        service.publish(ClusterFrame(kind: .inferEnd, id: streamID, from: me, to: caller, body: end.encoded()), to: caller)
        service.servedEnded(node: caller, id: streamID)
    }
}
