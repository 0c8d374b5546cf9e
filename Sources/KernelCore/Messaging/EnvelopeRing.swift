/// The queue of a mailbox: a ring of envelopes that grows by doubling, appends
/// at the back and moves runs off the front with a copy of memory, not one
/// envelope at a time. Allocated at the first append, so an idle mailbox
/// costs nothing; it keeps its largest size. Not thread-safe: the mailbox's
/// lock guards it.
struct EnvelopeRing: ~Copyable {
    private var storage: UnsafeMutablePointer<Envelope>?
    /// A power of two, or 0 before the first append.
    private var capacity = 0
    private var head = 0
    private(set) var count = 0

    init() {}

    deinit {
        guard let storage else { return }
        let firstRun = min(count, capacity - head)
        (storage + head).deinitialize(count: firstRun)
        storage.deinitialize(count: count - firstRun)
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ envelope: Envelope) {
        if count == capacity { grow() }
        (storage.unsafelyUnwrapped + ((head + count) & (capacity - 1))).initialize(to: envelope)
        count += 1
    }

    /// Moves the oldest `n` envelopes (at most `count`) into `destination`,
    /// uninitialized memory for `n` envelopes, oldest first.
    mutating func moveFirst(_ n: Int, to destination: UnsafeMutablePointer<Envelope>) {
        precondition(n <= count, "moving more envelopes than the ring holds")
        guard n > 0, let storage else { return }
        let firstRun = min(n, capacity - head)
        destination.moveInitialize(from: storage + head, count: firstRun)
        (destination + firstRun).moveInitialize(from: storage, count: n - firstRun)
        head = (head + n) & (capacity - 1)
        count -= n
    }

    /// Moves every envelope out, oldest first.
    mutating func removeAll() -> [Envelope] {
        let total = count
        return [Envelope](unsafeUninitializedCapacity: total) { buffer, initialized in
            if let base = buffer.baseAddress { moveFirst(total, to: base) }
            initialized = total
        }
    }

    private mutating func grow() {
        let larger = max(16, capacity * 2)
        let moved = UnsafeMutablePointer<Envelope>.allocate(capacity: larger)
        let total = count
        moveFirst(total, to: moved)
        storage?.deallocate()
        storage = moved
        capacity = larger
        head = 0
        count = total
    }
}
