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
    private let series: MetricSeries
    let sent: Counter
    let delivered: Counter

    init(series: MetricSeries) {
        self.series = series
        sent = series.counter(MetricName.messagesSent, [("agent", series.agent)])
        delivered = series.counter(MetricName.messagesDelivered, [("agent", series.agent)])
    }

    /// Counts a message this sender sent that the kernel refused.
    func refused(_ status: AOSStatus) {
        series.counter(MetricName.messagesRefused, [("agent", series.agent), ("reason", status.label)]).increment()
    }
}

/// One instance's metric handles, made once at load so the syscall path only
/// increments: successful calls per syscall, messages, handler durations.
/// Failed calls (rarer) find their series by label. Every series goes with
/// `destroy()` at unload. Thread-safe.
final class InstanceMetrics: Sendable {
    /// Every series labelled with this instance's name.
    let series: MetricSeries
    private let succeeded: [Counter]
    let messages: MessageMetrics
    let handlerDuration: Timer

    init(agent: String) {
        let series = MetricSeries(agent: agent)
        self.series = series
        succeeded = Syscall.allCases.map { syscall in
            series.counter(MetricName.syscalls, [("agent", agent), ("syscall", syscall.name), ("status", "ok")])
        }
        messages = MessageMetrics(series: series)
        handlerDuration = series.timer(MetricName.handlerDuration, [("agent", agent)])
        MetricSeriesDirectory.register(series)
    }

    /// Counts one call of `syscall` that returned `status`.
    @inline(__always)
    func count(_ syscall: Syscall, _ status: AOSStatus) {
        if status == .ok {
            succeeded[syscall.rawValue].increment()
        } else {
            series.counter(MetricName.syscalls, [("agent", series.agent), ("syscall", syscall.name), ("status", status.label)])
                .increment()
        }
    }

    /// Drops every series of this instance from `/metrics` (at unload).
    func destroy() {
        MetricSeriesDirectory.remove(series)
        series.destroy()
    }
}

extension AOSStatus {
    /// The status as a metric label: "ok", "efull", "etimedout", …
    var label: String {
        self == .ok ? "ok" : String(name.dropFirst(4)).lowercased()
    }
}
