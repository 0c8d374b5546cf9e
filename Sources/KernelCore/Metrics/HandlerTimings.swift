import Synchronization

/// How long one instance's handlers ran, as a Prometheus histogram, kept
/// without a lock or a shared write per message: the instance's own thread
/// counts each batch of messages in its `Tally` and folds it in here once per
/// batch (`fold`), under a lock that only a scrape also takes. Observations of
/// the batch being handled show at the next fold. Thread-safe.
public final class HandlerTimings: Sendable {
    /// Upper bounds of the buckets, in nanoseconds: 10 µs to 10 s.
    public static let bounds: [UInt64] = [
        10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000,
        500_000_000, 1_000_000_000, 5_000_000_000, 10_000_000_000,
    ]

    /// Observations not folded in yet. Owned by one thread.
    struct Tally {
        /// Per bucket, not cumulative; the last is past every bound.
        fileprivate var buckets = [UInt64](repeating: 0, count: HandlerTimings.bounds.count + 1)
        fileprivate var sumNanos: UInt64 = 0
        fileprivate var count: UInt64 = 0

        @inline(__always)
        mutating func record(nanoseconds: UInt64) {
            var index = 0
            while index < HandlerTimings.bounds.count && nanoseconds > HandlerTimings.bounds[index] { index += 1 }
            buckets[index] &+= 1
            sumNanos &+= nanoseconds
            count &+= 1
        }
    }

    /// The histogram at one moment.
    public struct Snapshot: Sendable {
        /// Observations at or under each of `bounds`, then all of them (`+Inf`).
        public let cumulative: [UInt64]
        public let sumSeconds: Double
        public var count: UInt64 { cumulative.last ?? 0 }
    }

    private let folded = Mutex(Tally())

    init() {}

    /// Adds `tally` to the histogram and empties it. The tally's owner thread.
    func fold(_ tally: inout Tally) {
        guard tally.count > 0 else { return }
        folded.withLock { total in
            for index in total.buckets.indices { total.buckets[index] &+= tally.buckets[index] }
            total.sumNanos &+= tally.sumNanos
            total.count &+= tally.count
        }
        for index in tally.buckets.indices { tally.buckets[index] = 0 }
        tally.sumNanos = 0
        tally.count = 0
    }

    public func snapshot() -> Snapshot {
        folded.withLock { total in
            var running: UInt64 = 0
            return Snapshot(
                cumulative: total.buckets.map { running &+= $0; return running },
                sumSeconds: Double(total.sumNanos) / 1e9)
        }
    }
}
