import Glibc
import Synchronization

/// A bounded FIFO of messages for one instance: many senders, one receiver.
///
/// Senders never wait longer than the deadline they chose, and a closed
/// mailbox refuses at once. The receiver takes messages in batches of at most
/// `batchLimit` (one lock round trip for many messages) and starts them one by
/// one with `next()`, an atomic claim on the batch, so `close` can still take
/// back every message not started, even while the receiver's handler is stuck:
/// every message not handled is returned to its sender or logged. It keeps
/// the senders of its messages alive (`SenderPins`) until they are handled.
/// A reload hands the mailbox over to the new instance's (`handOver(to:)`).
/// Thread-safe; `take` and `next` are for the receiver's thread only.
final class Mailbox: @unchecked Sendable {
    private var limit: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue = EnvelopeRing()
    /// Messages queued and taken so far: the sequence numbers of `pins`.
    private var pushed: UInt64 = 0
    /// Messages and tool calls senders queued (`push`), for `acceptedCount`.
    private var accepted: UInt64 = 0
    private var taken: UInt64 = 0
    private var pins = SenderPins()
    private var closed = false
    /// Where messages go once this mailbox was handed over (a reload); set once, under `mutex`.
    private var successor: Mailbox?
    /// Whether `queue` holds anything, readable without the lock: the
    /// receiver polls it before it sleeps.
    private let hasQueued = Atomic<Bool>(false)
    private var receiverWaiting = false
    private var sendersWaiting = 0
    /// Keeps what the receiver writes per message (below) off the cache lines senders write (above).
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// The batch the receiver took, moved out of `queue` into slots
    /// `0..<inHandCount` by `take` (under `mutex`, on the receiver's thread).
    /// Each slot is moved out once, by whoever claims it: `next` or `close`.
    /// Allocated at the first `take`: an idle instance costs no batch memory.
    private var inHand = UnsafeMutablePointer<Envelope>(bitPattern: 0)
    private var inHandCount = 0
    /// How many of `inHand` have been claimed; `close` moves it past the end.
    private let claimed = Atomic<Int>(0)

    init(capacity: Int) {
        precondition(capacity > 0, "mailbox capacity must be positive")
        self.limit = capacity
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(notEmpty, &attributes)
        pthread_cond_init(notFull, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        if let inHand {
            let unclaimed = min(claimed.load(ordering: .acquiring), inHandCount)
            (inHand + unclaimed).deinitialize(count: inHandCount - unclaimed)
            inHand.deallocate()
        }
        pthread_cond_destroy(notEmpty)
        pthread_cond_destroy(notFull)
        pthread_mutex_destroy(mutex)
        notEmpty.deallocate()
        notFull.deallocate()
        mutex.deallocate()
    }

    /// Messages it holds before senders get AOS_EFULL.
    var capacity: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return limit
    }

    /// Changes `capacity` (the mailbox_depth quota). Messages already queued
    /// stay; senders waiting for room re-check.
    func resize(to capacity: Int) {
        precondition(capacity > 0, "mailbox capacity must be positive")
        pthread_mutex_lock(mutex)
        limit = capacity
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }

    /// Senders blocked in `push` waiting for room now, and whether the receiver
    /// is blocked waiting for a message: states a test can wait for.
    var waiters: (senders: Int, receiver: Bool) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return (sendersWaiting, receiverWaiting)
    }

    /// Messages and tool calls senders have queued here (`agentos_messages_delivered_total`;
    /// not the kernel's inference results): counted under the lock a send takes anyway.
    var acceptedCount: UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return accepted
    }

    /// Messages waiting now: queued, or taken in the receiver's batch but not started.
    var depth: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.count + inHandCount - min(claimed.load(ordering: .acquiring), inHandCount)
    }

    /// Appends `envelope`. When full, waits until `deadline` (monotonic ns; nil = do not wait)
    /// unless `interrupted()` becomes true, which `wakeSenders()` makes it re-check.
    /// After a handover the envelope goes to the successor, on the same terms.
    ///
    /// Returns `.ok`, `.full` (still full at the deadline), or `.stopping`
    /// (closed, or the sender was interrupted).
    func push(_ envelope: Envelope, until deadline: UInt64?, interrupted: () -> Bool = { false }) -> AOSStatus {
        pthread_mutex_lock(mutex)
        while successor == nil && !closed && queue.count >= limit {
            guard let deadline else {
                pthread_mutex_unlock(mutex)
                return .full
            }
            if interrupted() {
                pthread_mutex_unlock(mutex)
                return .stopping
            }
            var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            sendersWaiting += 1
            let result = pthread_cond_timedwait(notFull, mutex, &time)
            sendersWaiting -= 1
            if result == ETIMEDOUT && successor == nil && queue.count >= limit && !closed {
                pthread_mutex_unlock(mutex)
                return .full
            }
        }
        if let successor {
            pthread_mutex_unlock(mutex)
            return successor.push(envelope, until: deadline, interrupted: interrupted)
        }
        defer { pthread_mutex_unlock(mutex) }
        if closed { return .stopping }
        append(envelope)
        accepted &+= 1
        return .ok
    }

    /// Appends a message from the kernel itself, even past capacity: a kernel
    /// thread never waits on a plugin, and the result of a request the
    /// instance made is never dropped (their number is bounded by the
    /// inference queue). Returns false once the mailbox is closed.
    func pushFromKernel(_ envelope: Envelope) -> Bool {
        pthread_mutex_lock(mutex)
        if let successor {
            pthread_mutex_unlock(mutex)
            return successor.pushFromKernel(envelope)
        }
        defer { pthread_mutex_unlock(mutex) }
        if closed { return false }
        append(envelope)
        return true
    }

    /// Queues `envelope`, pins its sender and wakes the receiver if it waits. Under `mutex`.
    @inline(__always)
    private func append(_ envelope: Envelope) {
        pins.pin(envelope, at: pushed)
        pushed &+= 1
        queue.append(envelope)
        // Written only when it changes: the receiver polls it from another core.
        if !hasQueued.load(ordering: .relaxed) { hasQueued.store(true, ordering: .relaxed) }
        if receiverWaiting { pthread_cond_signal(notEmpty) }
    }

    /// Messages the receiver takes at once at most.
    static let batchLimit = 64

    /// Takes the oldest messages, up to `batchLimit`, as the batch `next()`
    /// hands out, blocking while the mailbox is empty. Returns false once the
    /// mailbox is closed. Receiver's thread only, once `next()` returned nil.
    func take() -> Bool {
        awaitBriefly()
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while queue.isEmpty && !closed {
            receiverWaiting = true
            pthread_cond_wait(notEmpty, mutex)
            receiverWaiting = false
        }
        if closed { return false }
        // The batch before this one is handled: its senders may go.
        pins.release(before: taken)
        let count = min(queue.count, Self.batchLimit)
        taken &+= UInt64(count)
        let batch = inHand ?? .allocate(capacity: Self.batchLimit)
        inHand = batch
        queue.moveFirst(count, to: batch)
        inHandCount = count
        hasQueued.store(!queue.isEmpty, ordering: .relaxed)
        claimed.store(0, ordering: .releasing)
        // Senders blocked on a full mailbox wake once it is half empty, not at
        // every batch: each wake-up then buys a run of sends, not one.
        if sendersWaiting > 0 && queue.count <= limit / 2 { pthread_cond_broadcast(notFull) }
        return true
    }

    /// Yields the CPU a few times while the queue is empty before `take` goes
    /// to sleep: in a stream of messages the next one is a fraction of a
    /// microsecond away, and waking a sleeping receiver costs the sender a
    /// system call per message. An idle instance spends about
    /// `spinsBeforeSleep` yields after its last message, then sleeps.
    private func awaitBriefly() {
        var spins = 0
        while !hasQueued.load(ordering: .relaxed) && spins < Self.spinsBeforeSleep {
            sched_yield()
            spins += 1
        }
    }

    static let spinsBeforeSleep = 64

    /// Starts the next message of the batch; nil when the batch is done or the
    /// mailbox was closed (which took back the rest). Receiver's thread only.
    @inline(__always)
    func next() -> Envelope? {
        let index = claimed.wrappingAdd(1, ordering: .acquiringAndReleasing).oldValue
        return index < inHandCount ? (inHand.unsafelyUnwrapped + index).move() : nil
    }

    /// Stops accepting and delivering; returns the messages not started, oldest
    /// first: the rest of the receiver's batch, then the queue.
    func close() -> [Envelope] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        closed = true
        let firstUnclaimed = min(claimed.exchange(Int.max / 2, ordering: .acquiringAndReleasing), inHandCount)
        var leftovers = (firstUnclaimed..<inHandCount).map { (inHand.unsafelyUnwrapped + $0).move() }
        leftovers.append(contentsOf: queue.removeAll())
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        return leftovers
    }

    /// Makes senders blocked in `push` re-check their `interrupted` condition.
    func wakeSenders() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(notFull)
        let successor = self.successor
        pthread_mutex_unlock(mutex)
        successor?.wakeSenders()
    }

    /// Hands this mailbox over to `successor` (a reload): under this mailbox's
    /// lock, it stops delivering (`take` returns false, as after `close`),
    /// moves every message not started to `successor` in order, and from then
    /// on passes each `push` on to it. A send that took this lock before the
    /// handover was queued here and is moved; one after it lands behind the
    /// moved ones: per-sender FIFO holds, and no send in the window is
    /// refused. Senders waiting for room wake and wait on `successor`.
    ///
    /// Moved messages may take `successor` past its capacity (they were
    /// accepted already) and are not counted again in its `acceptedCount`.
    /// Returns nil, moving nothing, when this mailbox is closed or was handed
    /// over already; else the messages `successor` refused because it was
    /// closed meanwhile (its instance failed), for the caller to return to
    /// their senders. `successor` must be a fresh mailbox that is never handed
    /// back to this one (the two locks are taken in that order only).
    func handOver(to successor: Mailbox) -> [Envelope]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if closed { return nil }
        closed = true
        self.successor = successor
        let firstUnclaimed = min(claimed.exchange(Int.max / 2, ordering: .acquiringAndReleasing), inHandCount)
        var moved = (firstUnclaimed..<inHandCount).map { (inHand.unsafelyUnwrapped + $0).move() }
        moved.append(contentsOf: queue.removeAll())
        let refused = successor.adopt(moved)
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        return refused
    }

    /// Queues what a predecessor handed over, in order, past capacity if need
    /// be; returns them all instead when this mailbox is closed.
    private func adopt(_ envelopes: [Envelope]) -> [Envelope] {
        guard !envelopes.isEmpty else { return [] }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if closed { return envelopes }
        for envelope in envelopes { append(envelope) }
        return []
    }
}
