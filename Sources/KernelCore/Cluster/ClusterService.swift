import Foundation
import Synchronization

/// The kernel's place in a cluster: the directory of nodes and the agents they
/// announce, remote `send`/`call`/`reply`, and the frames other kernels send.
///
/// Inactive (every remote name is not found) unless the kernel was configured
/// with a node name; then `attach` gives it the link (NATS, outside
/// KernelCore). Thread-safe: `state` is only touched inside its mutex; the
/// link's thread calls `receive`, `linkChanged` and `tick`, instances' threads
/// the message calls (through `MessageRouter`), the control API the rest.
public final class ClusterService: Sendable {
    /// This kernel's node name; nil when it is not in a cluster.
    public let node: String?
    let configuration: KernelConfiguration
    let table: InstanceTable
    let ids: IdentifierMint
    let state = Mutex(State())
    let up = Atomic<Bool>(false)
    public let counters = ClusterCounters()
    /// Why the last rejected frame was rejected (for the log and `agentctl nodes`).
    let lastRejection = Mutex<String?>(nil)
    /// When this kernel started (wall clock), the id of its announcements: of
    /// two kernels announcing one node name, the one that started later yields.
    let startedAt = realtimeNanos()
    /// Set once this kernel yielded its node name to another kernel (see `nameConflict`).
    let yielded = Atomic<Bool>(false)

    struct State {
        var link: (any ClusterLink)?
        var version = ""
        var engine = "none"
        var nodes: [String: ClusterNode] = [:]
        /// Calls of this kernel's agents waiting for a remote reply, by request id.
        var pending: [UInt64: (reply: PendingReply, node: String)] = [:]
        /// Remote senders' identities (`aos_message.from`), reused while few.
        var identities: [String: SenderIdentity] = [:]
        var announced: [String]?
        var lastAnnounce: UInt64 = 0
        /// Why this kernel left the cluster: another kernel holds its node name.
        var nameConflict: String?
        /// Shared inference: this kernel's remote requests by stream id, the
        /// requests it serves for other nodes, the service it serves them
        /// with, and what it served by agent (see `ClusterService+Inference`).
        var streams: [UInt64: RemoteStream] = [:]
        var served: [ServedKey: ServedRequest] = [:]
        var inference: InferenceService?
        var servedByAgent: [String: UInt64] = [:]
    }

    /// Seconds of silence after which a node is taken for gone.
    static let nodeTimeoutSeconds = 3.0
    /// Seconds between announcements when nothing changed.
    static let announceEverySeconds = 1.0
    /// How long a remote message may wait for room in a mailbox: the link's
    /// one delivery thread waits (keeping each sender's order) at most this.
    static let remoteMailboxWaitMs: UInt32 = 1000
    static let identityCacheLimit = 4096

    init(configuration: KernelConfiguration, table: InstanceTable, ids: IdentifierMint) {
        self.node = configuration.clusterNode
        self.configuration = configuration
        self.table = table
        self.ids = ids
    }

    /// The model this kernel serves to the cluster (`--serve-engine`); nil: none.
    public var servedModel: String? { configuration.servedModel }
        /// Whether this kernel was started in a cluster (`--cluster`, `--node`).
    public var isJoined: Bool { node != nil }
    /// Why the last rejected frame was rejected; nil if none was.
    public var lastRejectedFrame: String? { lastRejection.withLock { $0 } }
    /// Whether the link to the cluster is up now.
    public var linkIsUp: Bool { up.load(ordering: .relaxed) }
    /// Why this kernel left the cluster, when another kernel that started
    /// first announces the same node name (two kernels that missed each other
    /// at start, e.g. one that joined late or across a NATS restart). From
    /// then on it neither announces, answers nor delivers remote frames, and
    /// every remote name is unreachable; local work goes on. nil: no conflict.
    public var nameConflict: String? { state.withLock { $0.nameConflict } }

    // MARK: The link's side

    /// Gives the service its transport; `version` and `engine` go into announcements.
    public func attach(_ link: any ClusterLink, version: String, engine: String) {
        state.withLock {
            $0.link = link
            $0.version = version
            $0.engine = configuration.servedModel.map { "\(engine), serves \($0)" } ?? engine
        }
    }

    /// The link went up or down. Down: every remote call waiting fails with
    /// AOS_EUNREACHABLE at once, and the directory is emptied (messages sent
    /// while a peer may still be cut off would be lost, so a node counts again
    /// only once it announced itself after the link came back). Up: this node
    /// announces itself.
    public func linkChanged(up isUp: Bool) {
        let wasUp = up.exchange(isUp, ordering: .relaxed)
        guard wasUp != isUp else { return }
        if isUp {
            state.withLock { $0.announced = nil }
            tick()
        } else {
            counters.linkLosses.increment()
            let failed = state.withLock { state in
                defer {
                    state.pending.removeAll()
                    state.nodes.removeAll()
                }
                return state.pending.values.map(\.reply)
            }
            for pending in failed { pending.complete(.failure(.unreachable)) }
            failAllStreams()
        }
    }

    /// Announces this node when its agents changed or a second passed, and
    /// forgets nodes silent for longer than `nodeTimeoutSeconds` (their
    /// waiting calls fail with AOS_EUNREACHABLE). The link calls it a few times a second.
    public func tick() {
        guard let node else { return }
        let now = monotonicNanos()
        let agents = table.liveInstances.map(\.name)
        let (link, frame, gone) = state.withLock { state -> ((any ClusterLink)?, ClusterFrame?, [PendingReply]) in
            let silence = UInt64(Self.nodeTimeoutSeconds * 1e9)
            let goneNodes = Set(state.nodes.values.filter { now &- $0.lastSeenNanos > silence }.map(\.name))
            let gone = forget(goneNodes, in: &state)
            let due = state.announced != agents || now &- state.lastAnnounce >= UInt64(Self.announceEverySeconds * 1e9)
            guard due, up.load(ordering: .relaxed), state.nameConflict == nil else { return (nil, nil, gone) }
            state.announced = agents
            state.lastAnnounce = now
            let body = ([state.version, state.engine] + agents).joined(separator: "\n")
            return (state.link, ClusterFrame(kind: .announce, id: startedAt, from: node, body: Array(body.utf8)), gone)
        }
        for pending in gone { pending.complete(.failure(.unreachable)) }
        expireStreams(now: now)
        cancelOrphanedServed(now: now)
        if let link, let frame { _ = link.publish(ClusterName.announceSubject, frame.encoded()) }
    }

    /// Tells the cluster this node leaves (a clean shutdown).
    public func leave() {
        guard let node, !yielded.load(ordering: .relaxed), let link = state.withLock({ $0.link }) else { return }
        _ = link.publish(ClusterName.announceSubject, ClusterFrame(kind: .leave, from: node).encoded())
    }

    /// Removes `nodes` from the directory; returns their waiting calls.
    private func forget(_ nodes: Set<String>, in state: inout State) -> [PendingReply] {
        guard !nodes.isEmpty else { return [] }
        for name in nodes { state.nodes[name] = nil }
        let gone = state.pending.filter { nodes.contains($0.value.node) }
        for id in gone.keys { state.pending[id] = nil }
        return gone.values.map(\.reply)
    }

    // MARK: The directory

    /// Every node this kernel knows, itself first, by name.
    public func nodes() -> [ClusterNode] {
        guard let node else { return [] }
        let now = monotonicNanos()
        return state.withLock { state in
            let me = ClusterNode(
                name: node, version: state.version, engine: state.engine, agents: table.liveInstances.map(\.name),
                lastSeenNanos: now, isSelf: true)
            return [me] + state.nodes.values.sorted { $0.name < $1.name }
        }
    }

    /// Throws `.unreachable` naming why `target` cannot be reached now: the
    /// link is down, or this kernel left the cluster over its node name.
    private func checkReachable(_ target: String) throws(KernelError) {
        if let conflict = nameConflict { throw KernelError(.unreachable, "\(target) cannot be reached: \(conflict)") }
        guard linkIsUp else { throw KernelError(.unreachable, "the cluster link is down: \(target) cannot be reached") }
    }

    /// Where a name the local table does not hold lives.
    enum Destination: Equatable {
        /// On this node after all (NAME@THIS-NODE).
        case local(String)
        case remote(name: String, node: String)
    }

    /// Resolves NAME@NODE, or a plain NAME no local agent has, to its node.
    /// Throws `.invalidArgument`, `.notFound`, `.unreachable` (node gone or
    /// link down) or `.ambiguous` (listing the nodes).
    func resolve(_ target: String) throws(KernelError) -> Destination {
        guard let me = node else { throw KernelError(.notFound, "no agent named \(target) is running (see `agentctl ps`)") }
        if target.utf8.contains(UInt8(ascii: "@")) {
            guard let (name, node) = ClusterName.split(target) else {
                throw KernelError(.invalidArgument, "invalid remote name \"\(target)\": use NAME@NODE")
            }
            if node == me { return .local(name) }
            try checkReachable(target)
            guard let record = state.withLock({ $0.nodes[node] }) else {
                throw KernelError(.unreachable, "node \(node) is not in the cluster (gone, or never joined; see `agentctl nodes`)")
            }
            guard record.agents.contains(name) else { throw KernelError(.notFound, "no agent named \(name) is running on node \(node)") }
            return .remote(name: name, node: node)
        }
        let running = state.withLock { $0.nodes.values.filter { $0.agents.contains(target) }.map(\.name) }.sorted()
        switch running.count {
        case 0: throw KernelError(.notFound, "no agent named \(target) is running here or on any node (see `agentctl ps --cluster`)")
        case 1:
            try checkReachable("\(target)@\(running[0])")
            return .remote(name: target, node: running[0])
        default:
            throw KernelError(.ambiguous, "\(target) runs on nodes \(running.joined(separator: ", ")): use \(target)@NODE")
        }
    }
}

/// A node as the directory knows it.
public struct ClusterNode: Sendable, Equatable {
    public let name: String
    public let version: String
    public let engine: String
    public let agents: [String]
    /// When its last announcement arrived (monotonic).
    public let lastSeenNanos: UInt64
    public let isSelf: Bool
}

/// The cluster's counters, for /metrics. Each is written by any thread.
public final class ClusterCounters: Sendable {
    /// Messages and requests sent to other nodes.
    let sent = PaddedAtomic()
    /// Messages and requests from other nodes delivered here.
    let received = PaddedAtomic()
    /// Replies sent to and received from other nodes.
    let repliesSent = PaddedAtomic()
    let repliesReceived = PaddedAtomic()
    /// Remote sends refused here (link down, node gone, too big, ...).
    let sendFailures = PaddedAtomic()
    /// Frames rejected: malformed, or a reply for no waiting call.
    let rejectedFrames = PaddedAtomic()
    /// Messages other nodes sent that could not be delivered here.
    let undelivered = PaddedAtomic()
    /// Times the link went down.
    let linkLosses = PaddedAtomic()
    /// Shared inference: requests this kernel's cluster engine sent, those
    /// that failed here (no taker, node gone, link down, refused), and
    /// requests this kernel served for other nodes.
    let inferRequests = PaddedAtomic()
    let inferFailures = PaddedAtomic()
    let inferServed = PaddedAtomic()

    /// The counters now, as (Prometheus name without the prefix, help, value).
    public var snapshot: [(name: String, help: String, value: UInt64)] {
        [
            ("cluster_messages_sent_total", "Messages and requests sent to agents on other nodes.", sent.value),
            ("cluster_messages_received_total", "Messages and requests from other nodes delivered here.", received.value),
            ("cluster_replies_sent_total", "Replies sent to callers on other nodes.", repliesSent.value),
            ("cluster_replies_received_total", "Replies from other nodes to calls made here.", repliesReceived.value),
            ("cluster_send_failures_total", "Remote sends and calls refused: link down, node gone, too big.", sendFailures.value),
            ("cluster_frames_rejected_total", "Frames from the cluster rejected: malformed, or a reply no call waits for.", rejectedFrames.value),
            ("cluster_messages_undelivered_total", "Remote messages that could not be delivered (here, or reported back).", undelivered.value),
            ("cluster_link_losses_total", "Times the link to the cluster went down.", linkLosses.value),
            ("cluster_inference_requests_total", "Inference requests sent to kernels serving a model (--engine cluster:MODEL).", inferRequests.value),
            ("cluster_inference_failures_total", "Remote inference requests failed here: no serving kernel, node gone, link down, refused.", inferFailures.value),
            ("cluster_inference_served_total", "Inference requests served for agents on other nodes (--serve-engine).", inferServed.value),
        ]
    }

    /// Frames rejected so far.
    public var rejected: UInt64 { rejectedFrames.value }
}
