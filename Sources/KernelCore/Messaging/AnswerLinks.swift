import Synchronization

/// Which inference requests stand behind an agent's answer, so a caller (and
/// `agentctl eval`) can follow an answer to its model turns and tool calls.
///
/// While an instance handles message M, the inference requests it starts are
/// M's. When it replies to request Q, Q's answer is linked to Q's own requests
/// and, when the reply is made while handling an inference result R (the
/// `infer_submit` pattern), to R and R's. The caller collects the links once.
/// Bounded; thread-safe.
final class AnswerLinks: Sendable {
    private static let capacity = 4096
    private let links = Mutex<[UInt64: [UInt64]]>([:])

    /// Records that `request`'s answer came from `inference` requests.
    func link(_ request: UInt64, to inference: [UInt64]) {
        guard !inference.isEmpty else { return }
        links.withLock { links in
            if links.count >= Self.capacity { links.removeAll(keepingCapacity: true) }  // callers that never collected
            links[request] = inference
        }
    }

    /// The inference requests behind `request`'s answer, once.
    func take(_ request: UInt64) -> [UInt64] {
        links.withLock { $0.removeValue(forKey: request) ?? [] }
    }
}

extension Instance {
    /// Notes an inference request started while handling the current message.
    func noteInference(_ id: UInt64) {
        guard own.handling != 0 else { return }
        if own.causes.count >= 4096 { own.causes.removeAll(keepingCapacity: true) }  // messages never answered
        own.causes[own.handling, default: []].append(id)
    }

    /// The inference requests behind a reply to `request` made now: its own, and
    /// the inference result being handled with that result's own.
    func inferenceBehindReply(to request: UInt64) -> [UInt64] {
        var ids = own.causes.removeValue(forKey: request) ?? []
        if own.handlingInferenceResult, own.handling != request {
            for id in [own.handling] + (own.causes.removeValue(forKey: own.handling) ?? []) where !ids.contains(id) { ids.append(id) }
        }
        return ids
    }
}
