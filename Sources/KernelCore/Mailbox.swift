import DequeModule
import Glibc
import Synchronization

/// A bounded FIFO of messages for one instance: many senders, one receiver.
///
/// Senders never wait longer than the deadline they chose, and a closed
/// mailbox refuses at once. The receiver takes every queued message at once
/// (one lock per batch, not per message); a taken batch still counts against
/// the capacity until the receiver comes back for the next one, so the bound
/// holds. Thread-safe.
final class Mailbox: @unchecked Sendable {
    let capacity: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue = Deque<Envelope>()
    private var closed = false
    private let closedFlag = Atomic<Bool>(false)
    /// Messages the receiver took with its last `take` and may still be handling.
    private var inHand = 0
    private var receiverWaiting = false
    private var sendersWaiting = 0

    init(capacity: Int) {
        precondition(capacity > 0, "mailbox capacity must be positive")
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(notEmpty, &attributes)
        pthread_cond_init(notFull, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(notEmpty)
        pthread_cond_destroy(notFull)
        pthread_mutex_destroy(mutex)
        notEmpty.deallocate()
        notFull.deallocate()
        mutex.deallocate()
    }

    /// Messages queued or in the receiver's current batch.
    var depth: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.count + inHand
    }

    /// True once `close()` ran; the receiver checks it between messages of a batch.
    var isClosed: Bool { closedFlag.load(ordering: .relaxed) }

    /// Appends `envelope`. When full, waits until `deadline` (monotonic ns; nil = do not wait)
    /// unless `interrupted()` becomes true, which `wakeSenders()` makes it re-check.
    ///
    /// Returns `.ok`, `.full` (still full at the deadline), or `.stopping`
    /// (closed, or the sender was interrupted).
    func push(_ envelope: Envelope, until deadline: UInt64?, interrupted: () -> Bool = { false }) -> AOSStatus {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !closed && queue.count + inHand >= capacity {
            guard let deadline else { return .full }
            if interrupted() { return .stopping }
            var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            sendersWaiting += 1
            let result = pthread_cond_timedwait(notFull, mutex, &time)
            sendersWaiting -= 1
            if result == ETIMEDOUT && queue.count + inHand >= capacity && !closed { return .full }
        }
        if closed { return .stopping }
        queue.append(envelope)
        if receiverWaiting { pthread_cond_signal(notEmpty) }
        return .ok
    }

    /// Moves every queued message, oldest first, into `batch` (which must be
    /// empty), blocking while none is queued; the previous batch is done.
    /// Returns false once the mailbox is closed.
    func take(into batch: inout Deque<Envelope>) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        inHand = 0
        if sendersWaiting > 0 { pthread_cond_broadcast(notFull) }
        while queue.isEmpty && !closed {
            receiverWaiting = true
            pthread_cond_wait(notEmpty, mutex)
            receiverWaiting = false
        }
        if closed { return false }
        swap(&queue, &batch)
        inHand = batch.count
        return true
    }

    /// Stops accepting and delivering; returns the messages still queued, oldest
    /// first (not those in the receiver's batch: it returns them itself).
    func close() -> [Envelope] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        closed = true
        closedFlag.store(true, ordering: .relaxed)
        let leftovers = Array(queue)
        queue.removeAll()
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        return leftovers
    }

    /// Makes senders blocked in `push` re-check their `interrupted` condition.
    func wakeSenders() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }
}
