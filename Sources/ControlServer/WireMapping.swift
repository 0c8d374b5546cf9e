import ControlAPI
import KernelCore
import StrictJSON

extension InstanceInfo {
    /// The wire form of a kernel snapshot.
    init(_ summary: InstanceSummary, inference: InferenceAccount? = nil) {
        self.init(
            name: summary.name, id: summary.id, state: summary.state.rawValue, plugin: summary.plugin,
            pluginName: summary.pluginName, version: summary.version, description: summary.description,
            kind: summary.kind, capabilities: summary.capabilities, origin: summary.origin.rawValue,
            loadedAt: summary.loadedAt, uptimeSeconds: summary.uptime, messagesIn: summary.messagesIn,
            messagesOut: summary.messagesOut, mailboxDepth: summary.mailboxDepth,
            mailboxLimit: summary.mailboxLimit, lastError: summary.lastError,
            inference: inference.map(InferenceUse.init), sendersWaiting: summary.sendersWaiting,
            isolation: summary.isolation.rawValue, host: summary.host.map(HostRow.init))
    }
}

extension InstanceRow {
    /// The `ps` row of a kernel snapshot; `live` is the instance itself while
    /// it runs under that name (its CPU time is read from it).
    init(_ summary: InstanceSummary, inference: InferenceAccount?, live: Instance?) {
        self.init(
            name: summary.name, id: summary.id, state: summary.state.rawValue, plugin: summary.plugin,
            origin: summary.origin.rawValue, uptimeSeconds: summary.uptime,
            cpuSeconds: live.map { Double($0.cpuNanos) / 1e9 }, messagesIn: summary.messagesIn,
            messagesOut: summary.messagesOut, mailboxDepth: summary.mailboxDepth, mailboxLimit: summary.mailboxLimit,
            sendersWaiting: summary.sendersWaiting, lastError: summary.lastError, inference: inference.map(InferenceUse.init))
        isolation = summary.isolation.rawValue
        host = summary.host.map(HostRow.init)
    }
}

extension HostRow {
    init(_ status: HostProcessStatus) {
        self.init(pid: status.pid.map(Int.init), restarts: status.restarts, crashes: status.crashes, lastCrash: status.lastCrash)
    }
}

extension InferenceUse {
    init(_ account: InferenceAccount) {
        let ended = Double(max(account.ended, 1))
        self.init(
            requests: account.requests, completed: account.completed, failed: account.failed,
            cancelled: account.cancelled, inFlight: account.inFlight, promptTokens: account.promptTokens,
            cachedPromptTokens: account.cachedPromptTokens,
            completionTokens: account.completionTokens, meanQueueMs: Double(account.queueNanos) / ended / 1e6,
            meanTimeToFirstTokenMs: Double(account.timeToFirstTokenNanos) / ended / 1e6,
            meanDecodeMs: Double(account.decodeNanos) / ended / 1e6)
    }
}

extension InferResult {
    init(_ result: InferenceResult, agent: String) {
        let usage = result.usage
        self.init(
            requestId: result.requestID, agent: agent, text: result.text, finishReason: result.finishReason.rawValue,
            usage: InferUsage(
                promptTokens: usage.promptTokens, cachedTokens: usage.cachedPromptTokens, completionTokens: usage.completionTokens,
                queueMs: Double(usage.queueNanos) / 1e6, timeToFirstTokenMs: Double(usage.timeToFirstTokenNanos) / 1e6,
                totalMs: Double(usage.totalNanos) / 1e6, engineMs: Double(usage.engineNanos) / 1e6),
            steps: result.steps?.map(ToolStep.init))
    }
}

extension ToolStep {
    init(_ record: ToolCallRecord) {
        var result: String?
        var error: ErrorBody.Detail?
        switch record.outcome {
        case .success(let json): result = json
        case .failure(let failure): error = ErrorBody.Detail(code: failure.code.rawValue, message: failure.message)
        }
        self.init(
            tool: record.tool, arguments: record.arguments,
            result: result, error: error, durationMs: Double(record.durationNanos) / 1e6)
    }
}

extension ToolInfo {
    init(_ tool: ToolDescription) {
        self.init(
            name: tool.name, description: tool.description, parameters: tool.parameters.jsonText, returns: tool.returns,
            threadSafe: tool.threadSafe, needsApproval: tool.needsApproval, plugin: tool.plugin, calls: tool.calls, failures: tool.failures,
            meanMs: tool.calls == 0 ? 0 : tool.totalSeconds * 1000 / Double(tool.calls))
    }
}

extension LogEntry {
    init(_ line: InstanceLogLine) {
        self.init(seq: line.seq, time: line.time, level: line.level.rawValue, source: line.source.rawValue, text: line.text)
    }
}

extension RestoreInfo {
    init(_ report: RestoreReport) {
        let (state, reason): (String, String?) = switch report.phase {
        case .restoring: ("restoring", nil)
        case .done: ("done", nil)
        case .skipped: ("skipped", nil)
        case .unavailable(let reason): ("unavailable", reason)
        }
        self.init(
            state: state, reason: reason, restored: report.restored,
            notRestored: report.notRestored.map { NotRestored(name: $0.name, plugin: $0.plugin, reason: $0.reason) })
    }
}

extension CrashList {
    init(_ report: CrashRecordService.Report) {
        self.init(
            crashes: report.records.map(CrashInfo.init),
            unreadable: report.unreadable.map { UnreadableCrash(file: $0.file, problem: $0.problem) })
    }
}

extension CrashInfo {
    init(_ record: CrashRecord) {
        self.init(
            file: record.file, name: record.name, time: record.time, signal: record.signal, instance: record.instance,
            thread: record.thread, tool: record.tool, location: record.location, plugin: record.plugin, sha256: record.pluginSHA256,
            blocksPlugin: record.blocksPlugin, reason: record.reason)
    }
}
