import KernelCore

/// The cluster's series in the Prometheus text format, read at scrape time
/// (nothing when the kernel is not in a cluster): the link's state, the nodes
/// known, and the counters of remote messages and rejected frames.
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
        text += Array(out.utf8)
    }
}
