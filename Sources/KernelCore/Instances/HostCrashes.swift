import Logging

/// What the kernel does when a process-mode instance's host died under a
/// handler (`on_message`, or `restore` at a reload, returned AOS_ECRASHED):
/// log, audit and count the crash, then have the image start the next host
/// as its restart policy says. The caller of the message has already been
/// answered with AOS_ECRASHED; queued messages stay in the mailbox for the
/// next host, and `PipelinedBatch` sends it the ones the dead host was sent
/// but never started. Runs on the instance's own thread only.
enum HostCrashes {
    /// Handles the crash in `callback` (its audit record names it); returns
    /// the state the instance ends in (failed, or stopped after a normal exit
    /// its policy does not restart), or nil while it keeps running.
    static func handle(on instance: Instance, in callback: String = "on_message") -> InstanceState? {
        let image = instance.image
        let crash = image.hostStatus
        let line = crash?.lastCrash ?? "its host ended"
        let reason = crash?.lastReason ?? "closed"
        instance.recordError("crashed: \(line)")
        instance.audit?.record(AuditRecord(agent: instance.name, syscall: callback, decision: .crash, reason: line))
        let logger = instance.services.lifecycle { $0.logger }
        logger.error("instance crashed", metadata: ["agent": "\(instance.name)", "reason": "\(reason)", "crash": "\(line)"])

        if image.recover(context: instance.handle, state: instance.own.pluginState) {
            instance.metrics.series.counter(MetricName.instanceRestarts, [("agent", instance.name), ("reason", reason)]).increment()
            return nil
        }
        let final = image.hostStatus?.lastCrash ?? line
        switch image.hostStatus?.outcome {
        case .failed?:
            logger.error("instance failed", metadata: ["agent": "\(instance.name)", "crash": "\(final)"])
            instance.recordError(final)
            return .failed
        case .endedNormally?:
            logger.info("instance ended", metadata: ["agent": "\(instance.name)", "reason": "\(final)"])
            instance.recordError(final)
            return .stopped
        case .supervised?, nil:
            return nil  // the restart itself crashed: the next message tries again
        }
    }
}
