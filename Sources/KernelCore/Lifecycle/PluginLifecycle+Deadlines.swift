import Foundation

extension PluginLifecycle {
    /// Marks instances whose handler has run past their deadline (handler_deadline_ms, else `configuration.handlerDeadline`) as hung.
    /// The instance runs again when the handler returns. Call it periodically.
    public func checkHandlerDeadlines(now: UInt64 = monotonicNanos()) {
        for instance in table.liveInstances {
            let limit = instance.handlerDeadlineNanos.load(ordering: .relaxed)
            let started = instance.handlerStartedAt.value
            guard started != 0, now > started, now - started > limit else { continue }
            let seconds = String(format: "%.1f", Double(now - started) / 1e9)
            let deadline = String(format: "%g", Double(limit) / 1e9)
            guard instance.transition(from: .running, to: .hung, error: "handler has run for \(seconds) s, past the \(deadline) s deadline") else { continue }
            if instance.handlerStartedAt.value != started {
                instance.transition(from: .hung, to: .running)  // it returned meanwhile
                continue
            }
            instance.log.append(.error, .kernel, "hung: handler has run for \(seconds) s, past the \(deadline) s deadline")
            logger.error("instance hung", metadata: ["agent": "\(instance.name)", "handler_s": "\(seconds)"])
        }
    }
}
