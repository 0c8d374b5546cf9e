import DequeModule

/// The process table: live instances by name, in load order, and a bounded
/// history of the ones that stopped or failed (for `ps -a`). Thread-safe.
final class InstanceTable: @unchecked Sendable {
    private let lock = ConditionLock()
    private var live: [String: Instance] = [:]
    private var loadOrder: [Instance] = []
    /// Instances retired by `unload --force`, or abandoned by a reload, whose thread has not returned, by id.
    private var zombies: [UInt64: Instance] = [:]
    /// Instances a reload replaced whose thread has not ended yet, by id.
    private var draining: [UInt64: Instance] = [:]
    /// Stopped and failed instances, oldest first, with their logs.
    private var ended = Deque<(summary: InstanceSummary, log: LogRing?)>()
    private let endedLimit: Int
    /// Messages delivered to instances no longer live (see `messagesDelivered`).
    private var retiredMessagesIn: UInt64 = 0

    init(endedLimit: Int) {
        self.endedLimit = endedLimit
    }

    /// Adds `instance` under its name; false when the name is taken by a live instance.
    func insert(_ instance: Instance) -> Bool {
        lock.withLock {
            guard live[instance.name] == nil else { return false }
            live[instance.name] = instance
            loadOrder.append(instance)
            ended.removeAll { $0.summary.id == 0 && $0.summary.plugin == instance.image.sourcePath }
            return true
        }
    }

    /// Gives `old`'s name and place in the load order to `new` (a reload) and
    /// keeps `old` as draining until its thread ends (`retire`). False, changing
    /// nothing, when `old` no longer holds its name.
    func replace(_ old: Instance, with new: Instance) -> Bool {
        lock.withLock {
            guard live[old.name] === old, let index = loadOrder.firstIndex(where: { $0 === old }) else { return false }
            live[old.name] = new
            loadOrder[index] = new
            draining[old.id] = old
            ended.removeAll { $0.summary.id == 0 && $0.summary.plugin == new.image.sourcePath }
            return true
        }
    }

    @inline(__always)
    func lookup(_ name: String) -> Instance? {
        lock.withLock { live[name] }
    }

    /// Moves `instance` from the live table (or the zombies, or the draining) to the history.
    func retire(_ instance: Instance) {
        let summary = instance.summary()
        lock.withLock {
            if live[instance.name] === instance { live[instance.name] = nil }
            loadOrder.removeAll { $0 === instance }
            zombies[instance.id] = nil
            draining[instance.id] = nil
            retiredMessagesIn &+= summary.messagesIn
            remember(summary, log: instance.log)
        }
    }

    /// Frees the name of `instance`, whose thread will not stop, and keeps it
    /// listed as a zombie until its thread returns (`retire`). Also for an
    /// instance that never held its name (a reload's new version whose init hung).
    func retireZombie(_ instance: Instance) {
        lock.withLock {
            if live[instance.name] === instance { live[instance.name] = nil }
            loadOrder.removeAll { $0 === instance }
            zombies[instance.id] = instance
        }
    }

    /// Records a file that failed to load before it became an instance (id 0),
    /// replacing an earlier failure of the same file under the same name.
    func recordFailure(_ summary: InstanceSummary) {
        lock.withLock {
            ended.removeAll { $0.summary.id == 0 && $0.summary.plugin == summary.plugin && $0.summary.name == summary.name }
            remember(summary, log: nil)
        }
    }

    /// The log of the live instance `name`, else of the last ended one of that name.
    func log(of name: String) -> LogRing? {
        lock.withLock { live[name]?.log ?? ended.last { $0.summary.name == name }?.log }
    }

    /// Messages and tool calls delivered to every instance since the kernel started.
    var messagesDelivered: UInt64 {
        lock.withLock {
            loadOrder.reduce(retiredMessagesIn) { $0 &+ $1.messagesIn } &+ zombies.values.reduce(0) { $0 &+ $1.messagesIn }
                &+ draining.values.reduce(0) { $0 &+ $1.messagesIn }
        }
    }

    /// Live instances in load order.
    var liveInstances: [Instance] { lock.withLock { loadOrder } }

    /// Summaries of live instances, and with `includeEnded` the zombies, the
    /// instances a reload replaced that still drain, and the history too, by id.
    func summaries(includeEnded: Bool) -> [InstanceSummary] {
        let (instances, history) = lock.withLock {
            (loadOrder + (includeEnded ? Array(zombies.values) + Array(draining.values) : []), includeEnded ? ended.map(\.summary) : [])
        }
        return (instances.map { $0.summary() } + history).sorted { ($0.id, $0.name) < ($1.id, $1.name) }
    }

    private func remember(_ summary: InstanceSummary, log: LogRing?) {
        ended.append((summary, log))
        if ended.count > endedLimit { ended.removeFirst() }
    }
}
