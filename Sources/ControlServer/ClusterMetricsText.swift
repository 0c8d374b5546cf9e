import KernelCore

/// The cluster's series in the Prometheus text format, read at scrape time
/// (nothing when the kernel is not in a cluster): the link's state, the nodes
/// known, the counters of remote messages, shared inference and rejected
/// frames, and the requests served for each remote agent.
enum ClusterMetricsText {
    static func append(_ cluster: ClusterService, to text: inout [UInt8]) {
        guard cluster.isJoined else { return }
        var out = ""
        func series(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP agentos_\(name) \(help)\n# TYPE agentos_\(name) \(type)\nagentos_\(name) \(value)\n"
        }
        series("cluster_link_up", "gauge", "1 when the link to the cluster's NATS server is up.", cluster.linkIsUp ? "1" : "0")
        series("cluster_nodes", "gauge", "Nodes known in the cluster, this one included.", "\(cluster.nodes().count)")
        series("cluster_calls_waiting", "gauge", "Calls of local agents waiting for a remote reply.", "\(cluster.waitingCalls)")
        for counter in cluster.counters.snapshot { series(counter.name, "counter", counter.help, "\(counter.value)") }
        let served = cluster.servedInference()
        if !served.isEmpty {
            let name = "agentos_cluster_inference_served_by_agent_total"
            out += "# HELP \(name) Inference requests served here for remote agents, by their full name (NAME@NODE).\n# TYPE \(name) counter\n"
            for (agent, count) in served.sorted(by: { $0.key < $1.key }) { out += "\(name){agent=\"\(agent)\"} \(count)\n" }
        }
        text += Array(out.utf8)
    }
}
