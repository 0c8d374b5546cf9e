import KernelCore
import Synchronization

/// Whether the kernel is ready to serve (Kubernetes' readiness): the
/// instances recorded in state.sqlite have been restored, and its
/// Plugins/ folder has been scanned once. (The engine is loaded, and a model
/// that cannot be stops agentosd, before the socket opens.) Liveness needs
/// less: that the kernel answers at all. Thread-safe.
public final class Readiness: Sendable {
    private let scanned: Atomic<Bool>
    private let cluster: ClusterService?
    private let records: InstanceRecordService?

    /// `watchesPlugins`: whether a Plugins/ folder must be scanned before the kernel is ready;
    /// `cluster`: the cluster service whose link must be up (nil: not in a cluster);
    /// `records`: the service whose restore must be done (nil: none to wait for).
    public init(watchesPlugins: Bool, cluster: ClusterService? = nil, records: InstanceRecordService? = nil) {
        scanned = Atomic(!watchesPlugins)
        self.cluster = cluster
        self.records = records
    }

    /// Called once the Plugins/ folder's files have been loaded (or refused).
    public func pluginsScanned() { scanned.store(true, ordering: .relaxed) }

    /// Why the kernel is not ready; empty when it is.
    var reasons: [String] {
        var reasons: [String] = []
        if records?.report.phase == .restoring { reasons.append("the instances recorded in state.sqlite are still being restored") }
        if !scanned.load(ordering: .relaxed) { reasons.append("the Plugins/ folder is still being scanned") }
        if let conflict = cluster?.nameConflict {
            reasons.append(conflict)
        } else if let cluster, !cluster.linkIsUp {
            reasons.append("the cluster link is down (node \(cluster.node ?? ""); reconnecting)")
        }
        return reasons
    }
}
