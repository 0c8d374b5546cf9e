import KernelCore
import Synchronization

/// The `tool_calls_per_minute` quota of API keys: one token bucket per key
/// (by its secret's hash, so a key made anew under a revoked one's name starts
/// afresh), made at its first call. A call over the rate waits for budget up to the
/// key's `quota_wait_ms` (default 60 s) and is refused beyond that.
///
/// Thread-safe: the buckets are only touched inside `buckets.withLock`.
final class KeyToolQuota: Sendable {
    private let buckets = Mutex<[String: TokenBucket]>([:])

    /// Charges one call to `key`. Returns the nanoseconds to wait before the call
    /// may run (0 when within the rate, or when the key has no such quota), or nil
    /// when the wait would exceed its `quota_wait_ms`, in which case nothing is charged.
    func admit(_ key: APIKey) -> UInt64? {
        guard let rate = key.quotas.toolCallsPerMinute else { return 0 }
        let maxWaitMs = UInt64(key.quotas.quotaWaitMs ?? QuotaLimits.defaultQuotaWaitMs)
        let now = coarseMonotonicNanos()
        return buckets.withLock { buckets in
            var bucket = buckets[key.secretHash] ?? TokenBucket(capacity: rate, refillPerSecond: Double(rate) / 60, now: now)
            bucket.charge(1, now: now)
            let wait = bucket.nanosUntilPositive(now: now)
            guard wait / 1_000_000 <= maxWaitMs else { return nil }
            buckets[key.secretHash] = bucket
            return wait
        }
    }
}
