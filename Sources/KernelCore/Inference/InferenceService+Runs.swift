extension InferenceService {
    /// Resumes the runs the kernel's last stop interrupted; call once at
    /// start, after the instances are restored. Each goes on from its last
    /// stored step (`ToolLoop.resume`) as what started it: the control API,
    /// or the live instance of its agent's name, with that instance's
    /// grants now (what its request lent it is gone); a run that waited for
    /// approval waits again. An `infer_submit` run
    /// answers in its agent's mailbox; the others' outcome is kept in the
    /// run's record (their caller is gone). A run whose agent is not running
    /// ends `agent_gone`; a run in a session ends `interrupted` (a session
    /// stores an exchange only whole). Returns the ids of the runs resumed.
    @discardableResult
    public func resumeRuns() -> [UInt64] {
        var resumed: [UInt64] = []
        for record in runs.unfinished() {
            let info = record.info
            if let session = record.request.session {
                let why = "the kernel stopped during the run; a run in a session (\(session)) is not resumed, as the session stores its exchange only whole"
                runs.update(info.id, .interrupted, error: KernelError(.stopping, why))
                logger.warning("run \(info.id) of \(info.agent) not resumed: \(why)")
                continue
            }
            var instance: Instance?
            if info.reply != .control {
                guard let live = table.lookup(info.agent) else {
                    let why = "\(info.agent) was not running when the kernel started again"
                    runs.update(info.id, .agentGone, error: KernelError(.notFound, why))
                    logger.warning("run \(info.id) not resumed: \(why)")
                    continue
                }
                instance = live
            }
            let sink: InferenceSink =
                if let instance, info.reply == .mailbox { MailboxInferenceSink(instance: instance, requestID: info.id) } else { RecordOnlySink() }
            let request = record.request
            let loop = ToolLoop(
                id: info.id, service: self, tools: tools, runs: runs, agent: info.agent, owner: instance?.id ?? 0,
                priority: instance?.priority ?? 0, parameters: request.parameters,
                use: ToolUse(patterns: request.tools.map(\.name), choice: request.toolChoice, maxSteps: request.maxSteps),
                holder: instance.map { ToolLoop.Holder(instance: $0, lent: nil) }, reply: info.reply, sink: sink)
            toolLoops.withLock { $0[info.id] = loop }
            logger.notice("run \(info.id) of \(info.agent) resumed after \(record.steps.count) stored steps")
            loop.resume(from: record.steps, awaitingApproval: info.state == .awaitingApproval)
            resumed.append(info.id)
        }
        return resumed
    }
}

/// The sink of a resumed run whose caller is gone: its outcome is in the run's record only.
private final class RecordOnlySink: InferenceSink, Sendable {
    func received(_ piece: String) {}
    func finished(_ outcome: Result<InferenceResult, KernelError>) {}
}
