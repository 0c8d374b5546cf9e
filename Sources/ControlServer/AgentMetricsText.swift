import KernelCore

/// The Prometheus text of the series the kernel keeps per agent itself
/// (`AgentMetrics`): syscalls, messages sent and delivered, mailbox depths,
/// handler durations.
/// Agent names are label-safe (letters, digits, `_`, `.`, `-`).
enum AgentMetricsText {
    static func append(_ agents: [AgentMetrics], to text: inout [UInt8]) {
        var out = ""
        family(MetricName.syscalls, "counter", into: &out)
        for agent in agents {
            for call in agent.syscalls {
                out += "\(MetricName.syscalls){agent=\"\(agent.agent)\",syscall=\"\(call.syscall)\",status=\"\(call.status)\"} \(call.count)\n"
            }
        }
        family(MetricName.messagesSent, "counter", into: &out)
        for agent in agents { out += "\(MetricName.messagesSent){agent=\"\(agent.agent)\"} \(agent.messagesSent)\n" }
        family(MetricName.messagesDelivered, "counter", into: &out)
        for agent in agents {
            guard let delivered = agent.messagesDelivered else { continue }
            out += "\(MetricName.messagesDelivered){agent=\"\(agent.agent)\"} \(delivered)\n"
        }
        family(MetricName.mailboxDepth, "gauge", into: &out)
        for agent in agents {
            guard let depth = agent.mailboxDepth else { continue }
            out += "\(MetricName.mailboxDepth){agent=\"\(agent.agent)\"} \(depth)\n"
        }
        family(MetricName.handlerDuration, "histogram", into: &out)
        for agent in agents {
            guard let histogram = agent.handlerDurations else { continue }
            appendHistogram(histogram, agent: agent.agent, into: &out)
        }
        text.append(contentsOf: out.utf8)
    }

    /// Bucket bounds in seconds, as `le` label values.
    private static let bounds = HandlerTimings.bounds.map { "\(Double($0) / 1e9)" } + ["+Inf"]

    private static func appendHistogram(_ histogram: HandlerTimings.Snapshot, agent: String, into out: inout String) {
        let name = MetricName.handlerDuration
        for (bound, count) in zip(bounds, histogram.cumulative) {
            out += "\(name)_bucket{agent=\"\(agent)\",le=\"\(bound)\"} \(count)\n"
        }
        out += "\(name)_sum{agent=\"\(agent)\"} \(histogram.sumSeconds)\n"
        out += "\(name)_count{agent=\"\(agent)\"} \(histogram.count)\n"
    }

    private static func family(_ name: String, _ type: String, into out: inout String) {
        out += "# TYPE \(name) \(type)\n"
    }
}
