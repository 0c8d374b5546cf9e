import Synchronization

/// A relaxed atomic counter alone on its cache line, so threads that write
/// neighbouring fields do not slow it down (false sharing). Thread-safe.
final class PaddedCounter: Sendable {
    private let before: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private let count = Atomic<UInt64>(0)
    private let after: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init() {}

    @inline(__always)
    func increment() { count.add(1, ordering: .relaxed) }

    var value: UInt64 { count.load(ordering: .relaxed) }
}
