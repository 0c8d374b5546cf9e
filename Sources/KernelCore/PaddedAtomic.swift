import Synchronization

/// A relaxed 64-bit atomic alone on its cache line, so threads that write
/// neighbouring fields do not slow it down (false sharing): a counter written
/// by many threads, or a value one thread writes often and others read.
/// Stored inline in its owner (noncopyable), so using it costs no reference
/// counting. Thread-safe.
struct PaddedAtomic: ~Copyable, Sendable {
    private let before: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private let atomic = Atomic<UInt64>(0)
    private let after: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init() {}

    @inline(__always)
    func increment() { atomic.wrappingAdd(1, ordering: .relaxed) }

    var value: UInt64 { atomic.load(ordering: .relaxed) }

    @inline(__always)
    func store(_ value: UInt64) { atomic.store(value, ordering: .relaxed) }

    /// Stores `value`, returning the one it replaces.
    @inline(__always)
    func exchange(_ value: UInt64) -> UInt64 { atomic.exchange(value, ordering: .relaxed) }
}
