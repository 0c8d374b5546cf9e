import CoreMetrics
import Metrics

/// The syscalls counted in `agentos_syscalls_total`.
enum Syscall: Int, CaseIterable {
    case send, call, reply, log, now, `self`, infer, inferStream, inferSubmit, inferCancel, toolCall, toolsList, callDelegate
    case pluginLoad, pluginUnload

    /// Its name in agentos.h.
    var name: String {
        switch self {
        case .send: "send"
        case .call: "call"
        case .reply: "reply"
        case .log: "log"
        case .now: "now"
        case .self: "self"
        case .infer: "infer"
        case .inferStream: "infer_stream"
        case .inferSubmit: "infer_submit"
        case .inferCancel: "infer_cancel"
        case .toolCall: "tool_call"
        case .toolsList: "tools_list"
        case .callDelegate: "call_delegate"
        case .pluginLoad: "plugin_load"
        case .pluginUnload: "plugin_unload"
        }
    }
}

/// The message counters of one sender and receiver: an instance, or the control API.
final class MessageMetrics: Sendable {
    private let agent: String
    let sent: Counter
    let delivered: Counter

    init(agent: String) {
        self.agent = agent
        sent = Counter(label: MetricName.messagesSent, dimensions: [("agent", agent)])
        delivered = Counter(label: MetricName.messagesDelivered, dimensions: [("agent", agent)])
    }

    /// Counts a message this sender sent that the kernel refused.
    func refused(_ status: AOSStatus) {
        Counter(label: MetricName.messagesRefused, dimensions: [("agent", agent), ("reason", status.label)]).increment()
    }
}

/// One instance's metric handles, made once at load so the syscall path only
/// increments: successful calls per syscall, messages, handler durations.
/// Failed calls (rarer) find their series by label. Thread-safe.
final class InstanceMetrics: Sendable {
    private let agent: String
    private let succeeded: [Counter]
    let messages: MessageMetrics
    let handlerDuration: Timer

    init(agent: String) {
        self.agent = agent
        succeeded = Syscall.allCases.map { syscall in
            Counter(label: MetricName.syscalls, dimensions: [("agent", agent), ("syscall", syscall.name), ("status", "ok")])
        }
        messages = MessageMetrics(agent: agent)
        handlerDuration = Timer(label: MetricName.handlerDuration, dimensions: [("agent", agent)])
    }

    /// Counts one call of `syscall` that returned `status`.
    @inline(__always)
    func count(_ syscall: Syscall, _ status: AOSStatus) {
        if status == .ok {
            succeeded[syscall.rawValue].increment()
        } else {
            Counter(label: MetricName.syscalls, dimensions: [("agent", agent), ("syscall", syscall.name), ("status", status.label)])
                .increment()
        }
    }
}

extension AOSStatus {
    /// The status as a metric label: "ok", "efull", "etimedout", …
    var label: String {
        self == .ok ? "ok" : String(name.dropFirst(4)).lowercased()
    }
}
