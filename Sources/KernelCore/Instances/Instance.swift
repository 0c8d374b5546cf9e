import CAgentOS
import Foundation
import Synchronization
import Tools

/// Something a blocked syscall waits on, which unload must be able to wake.
protocol WakeUpTarget: AnyObject, Sendable {
    func wakeWaiters()
}

extension ConditionLock: WakeUpTarget {
    func wakeWaiters() { withLock { broadcast() } }
}

extension Mailbox: WakeUpTarget {
    func wakeWaiters() { wakeSenders() }
}

/// One loaded plugin instance: its identity, mailbox, log, counters and state.
///
/// Created by `PluginLifecycle.load`; its thread is run by `InstanceRunner`.
/// The plugin sees it through `handle`, a checked `aos_ctx *` (see `ContextTable`).
/// Thread-safe: counters are atomics, state is guarded by `stateLock`, and
/// what only the instance's own thread touches lives in `own`.
public final class Instance: @unchecked Sendable {
    public let id: UInt64
    public let name: String
    public let image: PluginImage
    public let origin: InstanceSummary.Origin
    public let loadedAt = Date()
    public let log: LogRing
    /// The descriptor's strings, copied at load: plugin memory is gone after unload.
    public let plugin: PluginInfo
    let identity: SenderIdentity
    let config: String
    /// Added to each inference request's priority under the priority policy.
    public let priority: Int
    /// A tool plugin's tools, checked at load; empty for agents.
    let tools: [Tool]
    /// Keeps the library loaded while thread-safe tools run on callers' threads.
    let toolGate = ToolCallGate()
    let mailbox: Mailbox
    /// What this instance's thread blocks on while it waits for a reply.
    let parker = ConditionLock()
    /// The services its syscalls reach.
    let services: SyscallServices
    /// The largest message body, in bytes (for `self`).
    let maxMessageBytes: Int
    /// The `aos_ctx *` its plugin holds; stale once the instance has exited.
    /// Set once by `attachHandle`, before the instance's thread starts (which
    /// publishes it), and only read after that: no lock needed.
    private(set) var handle: OpaquePointer?

    let metrics: InstanceMetrics
    /// What this instance, made by a reload, restores before its first
    /// message; nil when there is nothing to wait for (no predecessor, or no
    /// `restore` in its descriptor).
    let stateHandoff: StateHandoff?
    /// Whether `metrics` go with this instance: false for the new instance of
    /// a reload until the handover gives it the old one's (`handMetrics`).
    private let ownsMetrics: Atomic<Bool>
    /// What the operator granted; swapped whole on grant and revoke.
    let grants: Mutex<CapabilitySet>
    /// Bumped on every grant and revoke, so cached permissions (the last receiver's) expire.
    let grantsGeneration = Atomic<UInt64>(0)
    /// False only where a benchmark measures what the capability and quota checks cost (`KernelConfiguration.checksPolicy`).
    let checksPolicy: Bool
    /// Where denials and quota refusals are written; nil keeps no audit log.
    let audit: AuditLog?
    /// The quotas, the tool-call rate's bucket and the refusals so far.
    let quotas = Mutex(InstanceQuotas())
    /// The message_bytes quota, read on every send: Int.max when unlimited.
    let messageBytesQuota = Atomic<Int>(.max)
    /// A handler running longer than this marks the instance hung (handler_deadline_ms, else the kernel's).
    let handlerDeadlineNanos: Atomic<UInt64>
    /// Messages and tool calls delivered to it (its mailbox counts them).
    var messagesIn: UInt64 { mailbox.acceptedCount }
    /// Messages it sent; written only by its own thread.
    let messagesOut = PaddedAtomic()
    /// Monotonic ns when the running handler started; 0 when idle. Written by
    /// its own thread per message, so apart from what its senders read.
    let handlerStartedAt = PaddedAtomic()
    /// The OS thread the instance runs on (made at load, started by `InstanceRunner`).
    let thread: any InstanceThread
    /// The `pthread_self()` of that thread, stored by it before `init`:
    /// `isOwnThread` compares the caller's against it.
    let threadID = Atomic<UInt>(0)
    /// Set once unload begins: new syscalls and blocked ones return AOS_ESTOPPING.
    let stopRequested = Atomic<Bool>(false)
    /// State only the instance's own thread reads and writes.
    let own = OwnThreadState()

    private let stateLock = ConditionLock()
    private var _state = InstanceState.loading
    private var _lastError: String?
    private var endedAt: Date?
    private var waitTarget: WakeUpTarget?
    private var exitWaiters: [OnceContinuation<Bool>] = []
    private var exited = false
    /// Where this instance's `save` goes once a reload replaced it.
    private var successorHandoff: StateHandoff?

    init(
        id: UInt64, name: String, image: PluginImage, config: String, priority: Int, tools: [Tool],
        grants: CapabilitySet, origin: InstanceSummary.Origin, services: SyscallServices,
        configuration: KernelConfiguration, audit: AuditLog?, thread: any InstanceThread, predecessor: Instance? = nil
    ) {
        self.thread = thread
        self.grants = Mutex(grants)
        self.checksPolicy = configuration.checksPolicy
        self.maxMessageBytes = configuration.maxMessageBytes
        self.audit = audit
        self.handlerDeadlineNanos = Atomic(UInt64(configuration.handlerDeadline * 1e9))
        self.priority = priority
        self.tools = tools
        self.id = id
        self.name = name
        self.image = image
        self.config = config
        self.origin = origin
        self.services = services
        self.plugin = PluginInfo(image.descriptor)
        self.identity = SenderIdentity(name: name, instanceID: id)
        self.mailbox = Mailbox(capacity: configuration.mailboxCapacity)
        self.metrics = predecessor?.metrics ?? InstanceMetrics(agent: name)
        self.ownsMetrics = Atomic(predecessor == nil)
        self.stateHandoff = predecessor != nil && image.descriptor.pointee.handoffRestore != nil ? StateHandoff(lock: parker) : nil
        self.log = LogRing(capacity: configuration.logCapacity)
    }

    /// Drops the instance's metric series, unless a reload handed them on or has not handed them over yet.
    func destroyMetrics() {
        if ownsMetrics.load(ordering: .acquiring) { metrics.destroy() }
    }

    /// At a reload's handover: `successor` (made with this instance as its
    /// predecessor) carries on this instance's metric series.
    func handMetrics(to successor: Instance) {
        ownsMetrics.store(false, ordering: .releasing)
        successor.ownsMetrics.store(true, ordering: .releasing)
    }

    /// Gives the instance its `aos_ctx *`; false when the context table is full.
    func attachHandle() -> Bool {
        handle = ContextTable.shared.attach(self)
        return handle != nil
    }

    /// Makes the plugin's `aos_ctx *` stale: syscalls through it return
    /// AOS_ESTOPPING from now on. Waits for syscalls already past the check.
    func detachHandle() {
        guard let handle else { return }
        ContextTable.shared.detach(handle)
    }

    /// True when the caller runs on this instance's own thread.
    @inline(__always)
    var isOwnThread: Bool { threadID.load(ordering: .relaxed) == pthread_self() }

    public var state: InstanceState { stateLock.withLock { _state } }
    public var lastError: String? { stateLock.withLock { _lastError } }

    /// Moves to `state`, recording `error` as the last error when given.
    func transition(to state: InstanceState, error: String? = nil) {
        stateLock.withLock {
            _state = state
            if let error { _lastError = error }
            if !state.isLive && endedAt == nil { endedAt = Date() }
        }
    }

    /// Moves to `to` only while the state is `from`; returns whether it moved.
    @discardableResult
    func transition(from: InstanceState, to: InstanceState, error: String? = nil) -> Bool {
        stateLock.withLock {
            guard _state == from else { return false }
            _state = to
            if let error { _lastError = error }
            return true
        }
    }

    /// After an unload timed out: marks the instance hung unless its thread has
    /// already exited. Returns false when it had exited (the unload succeeded).
    func markHungIfRunning(error: String) -> Bool {
        stateLock.withLock {
            guard !exited else { return false }
            _state = .hung
            _lastError = error
            return true
        }
    }

    /// After a forced unload could not stop it: marks the instance a zombie
    /// unless its thread has already exited. Returns false when it had exited.
    func markZombieIfRunning() -> Bool {
        stateLock.withLock {
            guard !exited else { return false }
            _state = .zombie
            endedAt = Date()
            _lastError = "retired by force; its thread is parked until it returns or the kernel restarts"
            return true
        }
    }

    func recordError(_ error: String) {
        stateLock.withLock { _lastError = error }
    }

    // MARK: Interruptible waits

    /// Registers `target` as what this thread is about to block on.
    /// Returns false (do not block) when a stop was already requested.
    func beginWait(on target: WakeUpTarget) -> Bool {
        stateLock.withLock {
            if stopRequested.load(ordering: .relaxed) { return false }
            waitTarget = target
            return true
        }
    }

    func endWait() {
        stateLock.withLock { waitTarget = nil }
    }

    /// Marks the instance as stopping and wakes its thread from any blocked syscall.
    func requestStop() {
        let target = stateLock.withLock {
            stopRequested.store(true, ordering: .relaxed)
            if _state.isLive && _state != .hung { _state = .stopping }
            return waitTarget
        }
        target?.wakeWaiters()
    }

    // MARK: Reload

    /// At a reload's handover: once its message loop ends, this instance's
    /// thread runs `save` and offers the bytes to `handoff`.
    func handState(to handoff: StateHandoff) {
        stateLock.withLock { successorHandoff = handoff }
    }

    /// The handoff `handState` set, once; nil when no reload replaced it.
    func takeSuccessorHandoff() -> StateHandoff? {
        stateLock.withLock {
            defer { successorHandoff = nil }
            return successorHandoff
        }
    }

    // MARK: Exit

    /// Called once the thread has been joined, the image closed and the final state set.
    func didExit() {
        let waiters = stateLock.withLock {
            exited = true
            defer { exitWaiters.removeAll() }
            return exitWaiters
        }
        log.finish()
        for waiter in waiters { waiter.resume(true) }
    }

    /// Waits until the instance has exited (its library closed) or `seconds` pass.
    /// Returns whether it exited.
    func waitForExit(seconds: Double) async -> Bool {
        await withCheckedContinuation { continuation in
            let waiter = OnceContinuation(continuation)
            let done = stateLock.withLock {
                if exited { return true }
                exitWaiters.append(waiter)
                return false
            }
            if done {
                waiter.resume(true)
            } else {
                DispatchQueue.global().asyncAfter(deadline: .now() + max(0, seconds)) { waiter.resume(false) }
            }
        }
    }

    // MARK: ps

    public func summary() -> InstanceSummary {
        let (state, lastError, endedAt) = stateLock.withLock { (_state, _lastError, self.endedAt) }
        return InstanceSummary(
            name: name, id: id, state: state, plugin: image.sourcePath,
            pluginName: plugin.name, version: plugin.version, description: plugin.description,
            kind: plugin.kind, capabilities: plugin.capabilities,
            origin: origin, loadedAt: loadedAt, endedAt: endedAt,
            messagesIn: messagesIn, messagesOut: messagesOut.value,
            mailboxDepth: state.isLive ? mailbox.depth : 0, mailboxLimit: mailbox.capacity,
            sendersWaiting: state.isLive ? mailbox.waiters.senders : 0, lastError: lastError,
            isolation: image.isolation, host: image.hostStatus
        )
    }
}

/// What a descriptor says about its plugin, copied out of the library's memory.
public struct PluginInfo: Sendable, Equatable {
    public let name: String
    public let version: String
    public let description: String
    /// "agent" or "tool".
    public let kind: String
    public let capabilities: [String]

    init(_ descriptor: UnsafePointer<aos_plugin_descriptor>) {
        let fields = descriptor.pointee
        name = fields.name.map { String(cString: $0) } ?? ""
        version = fields.version.map { String(cString: $0) } ?? ""
        description = fields.description.map { String(cString: $0) } ?? ""
        kind = fields.kind == AOS_KIND_TOOL ? "tool" : "agent"
        var capabilities: [String] = []
        if var cursor = fields.capabilities {
            while let capability = cursor.pointee, capabilities.count < 256 {
                capabilities.append(String(cString: capability))
                cursor += 1
            }
        }
        self.capabilities = capabilities
    }
}
