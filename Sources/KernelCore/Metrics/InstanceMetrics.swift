/// The syscalls counted in `agentos_syscalls_total`.
enum Syscall: Int, CaseIterable {
    case send, call, reply, log, now, `self`, infer, inferStream, inferSubmit, inferCancel, toolCall, toolsList, callDelegate
    case pluginLoad, pluginUnload
    case kvGet, kvPut, kvDelete, kvList

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
        case .kvGet: "kv_get"
        case .kvPut: "kv_put"
        case .kvDelete: "kv_delete"
        case .kvList: "kv_list"
        }
    }
}

/// One instance's metrics. What changes on every message (syscalls, handler
/// durations; messages are `Instance.messagesIn`/`messagesOut`) the instance
/// keeps and the exporter reads at scrape time (`Kernel.agentMetrics`); rarer
/// series (refusals, denials, quotas, inference) are made in the registry
/// when first needed. Every registry series goes with `destroy()` at unload.
/// Thread-safe.
final class InstanceMetrics: Sendable {
    /// Every registry series labelled with this instance's name.
    let series: MetricSeries
    let syscalls = SyscallCounts()
    let handlerTimings = HandlerTimings()

    init(agent: String) {
        series = MetricSeries(agent: agent)
        MetricSeriesDirectory.register(series)
    }

    /// Counts one call of `syscall` that returned `status`.
    @inline(__always)
    func count(_ syscall: Syscall, _ status: AOSStatus) { syscalls.count(syscall, status) }

    /// Counts a message this instance sent that the kernel refused.
    func refused(_ status: AOSStatus) { series.countRefusedMessage(status) }

    /// Drops every series of this instance from `/metrics` (at unload).
    func destroy() {
        MetricSeriesDirectory.remove(series)
        series.destroy()
    }
}

extension MetricSeries {
    /// `agentos_messages_refused_total{agent,reason}`.
    func countRefusedMessage(_ status: AOSStatus) {
        counter(MetricName.messagesRefused, [("agent", agent), ("reason", status.label)]).increment()
    }
}

extension AOSStatus {
    /// The status as a metric label: "ok", "efull", "etimedout", …
    var label: String {
        self == .ok ? "ok" : String(name.dropFirst(4)).lowercased()
    }
}
