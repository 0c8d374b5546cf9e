import ControlAPI
import KernelCore

extension InstanceInfo {
    /// The wire form of a kernel snapshot.
    init(_ summary: InstanceSummary) {
        self.init(
            name: summary.name, id: summary.id, state: summary.state.rawValue, plugin: summary.plugin,
            pluginName: summary.pluginName, version: summary.version, description: summary.description,
            kind: summary.kind, capabilities: summary.capabilities, origin: summary.origin.rawValue,
            loadedAt: summary.loadedAt, uptimeSeconds: summary.uptime, messagesIn: summary.messagesIn,
            messagesOut: summary.messagesOut, mailboxDepth: summary.mailboxDepth,
            mailboxLimit: summary.mailboxLimit, lastError: summary.lastError)
    }
}

extension LogEntry {
    init(_ line: InstanceLogLine) {
        self.init(seq: line.seq, time: line.time, level: line.level.rawValue, source: line.source.rawValue, text: line.text)
    }
}
