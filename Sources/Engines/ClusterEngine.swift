import Foundation
import KernelCore
import Synchronization

/// The cluster engine (`agentosd --engine cluster:MODEL`): runs the kernel's
/// requests on another kernel of the cluster that serves MODEL
/// (`--serve-engine MODEL`), over NATS, streamed.
///
/// The kernel still queues, orders and accounts every request here; a
/// dispatcher thread takes one whenever fewer than `slots` are in flight and
/// hands it to `ClusterService.inferRemotely`, which streams it and ends it
/// (AOS_EUNREACHABLE when no kernel serves the model, the serving node dies
/// or the link goes down). Cancelling a request cancels it on the serving
/// node. Messages, sampling, stop strings, grammars, JSON Schemas and tools
/// travel with the request; sessions and tool loops run on this kernel.
/// Thread-safe: `state` is only touched inside its mutex.
public final class ClusterEngine: InferenceEngine {
    public struct Configuration: Sendable {
        /// The model name kernels serve it under (a node-name token).
        public var model: String
        /// Requests in flight at most.
        public var slots = 8
        /// The serving kernel's context per request, for `prepare` and `agentctl engine`.
        public var contextTokens = 2048

        public init(model: String) { self.model = model }
    }

    public let info: EngineInfo
    private let configuration: Configuration
    private let state = Mutex(State())
    /// Free slots: the dispatcher takes one before each request, the request's end gives it back.
    private let slots: DispatchSemaphore
    private let dispatcherDone = DispatchSemaphore(value: 0)

    private struct State {
        var cluster: ClusterService?
        var inFlight: [UInt64: InferenceRequest] = [:]
        var stopping = false
        var stats = EngineStats()
        var busySince: UInt64 = 0
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        slots = DispatchSemaphore(value: max(1, configuration.slots))
        info = EngineInfo(
            kind: "cluster", model: configuration.model, slots: configuration.slots, contextTokens: configuration.contextTokens,
            endpoint: ClusterName.inferSubject(of: configuration.model))
    }

    /// Gives the engine the cluster it sends requests through; until then they wait in the scheduler.
    public func bind(_ cluster: ClusterService) {
        state.withLock { $0.cluster = cluster }
    }

    // MARK: InferenceEngine

    /// Checks that `maxTokens` fits the serving kernel's context.
    public func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)? {
        guard parameters.maxTokens < configuration.contextTokens else {
            throw KernelError(.invalidArgument, "max_tokens \(parameters.maxTokens) does not fit the context of \(configuration.contextTokens) tokens per request")
        }
        return nil
    }

    public func start(serving scheduler: InferenceScheduler) {
        let thread = Thread { [self] in
            dispatch(scheduler)
            dispatcherDone.signal()
        }
        thread.name = "aos:cluster-engine"
        thread.start()
    }

    /// Cancels what is in flight (on the serving nodes too) and stops the dispatcher.
    public func shutdown() {
        let running: [InferenceRequest]? = state.withLock {
            guard !$0.stopping else { return nil }
            $0.stopping = true
            return Array($0.inFlight.values)
        }
        guard let running else { return }
        for request in running { request.cancel() }
        slots.signal()
        dispatcherDone.wait()
    }

    public func stats() -> EngineStats {
        state.withLock {
            var stats = $0.stats
            stats.activeSequences = $0.inFlight.count
            if !$0.inFlight.isEmpty { stats.busySeconds += Double(monotonicNanos() - $0.busySince) / 1e9 }
            return stats
        }
    }

    // MARK: Dispatch

    /// Takes a request whenever a slot is free, until `shutdown`.
    private func dispatch(_ scheduler: InferenceScheduler) {
        while true {
            slots.wait()
            while true {
                let (stopping, cluster) = state.withLock { ($0.stopping, $0.cluster) }
                if stopping { return }
                guard let cluster else {
                    usleep(50_000)
                    continue
                }
                guard let request = scheduler.take(waitingUntil: monotonicNanos() + 250_000_000) else { continue }
                launch(request, cluster: cluster, scheduler: scheduler)
                break
            }
        }
    }

    private func launch(_ request: InferenceRequest, cluster: ClusterService, scheduler: InferenceScheduler) {
        state.withLock {
            if $0.inFlight.isEmpty { $0.busySince = monotonicNanos() }
            $0.inFlight[request.id] = request
        }
        cluster.inferRemotely(request, model: configuration.model) { [self] end in
            if let end, end.status == 0 { scheduler.charge(request, promptTokens: end.promptTokens, completionTokens: end.completionTokens) }
            state.withLock {
                $0.inFlight[request.id] = nil
                if $0.inFlight.isEmpty { $0.stats.busySeconds += Double(monotonicNanos() - $0.busySince) / 1e9 }
                $0.stats.steps += 1
                $0.stats.promptTokens += UInt64(end?.promptTokens ?? 0)
                $0.stats.cachedPromptTokens += UInt64(end?.cachedPromptTokens ?? 0)
                $0.stats.generatedTokens += UInt64(end?.completionTokens ?? 0)
            }
            slots.signal()
        }
    }
}
