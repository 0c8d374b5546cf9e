import ControlAPI
import Hummingbird
import KernelCore

/// `GET /v1/cluster/nodes` → ClusterInfo.
enum ClusterRoutes {
    static func add<Context: RequestContext>(to router: RouterGroup<Context>, kernel: Kernel) {
        router.get("cluster/nodes") { _, _ in
            let cluster = kernel.cluster
            let now = monotonicNanos()
            let nodes = cluster.nodes().map { node in
                NodeInfo(
                    name: node.name, version: node.version, engine: node.engine, agents: node.agents,
                    lastSeenSeconds: node.isSelf ? 0 : Double(now &- node.lastSeenNanos) / 1e9, isSelf: node.isSelf)
            }
            return try JSONResponse.make(ClusterInfo(
                node: cluster.node, linkUp: cluster.linkIsUp, nodes: nodes, rejectedFrames: cluster.counters.rejected,
                lastRejectedFrame: cluster.lastRejectedFrame))
        }
    }
}
