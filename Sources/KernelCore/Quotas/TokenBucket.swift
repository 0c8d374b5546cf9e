/// A token bucket on a caller's clock: holds at most `capacity` tokens and
/// refills `refillPerSecond` tokens per second.
///
/// Tokens are charged after the fact, as actual usage, so the balance may go
/// negative: a debt that the refill pays off before the balance is positive
/// again. Times are nanoseconds on any monotonic clock, passed in by the
/// caller (virtual time in tests); a time earlier than one seen before counts
/// as no time passed. A capacity or rate of zero or less is a bucket that
/// never refills. Value type, no locking: whoever holds it guards it.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var capacity: Double
    public private(set) var refillPerSecond: Double
    /// The balance at `settledAt`.
    private var level: Double
    private var settledAt: UInt64
    /// When the balance last fell to zero or below; stale while it is positive.
    private var emptiedAt: UInt64?

    /// A full bucket.
    public init(capacity: Int, refillPerSecond: Double, now: UInt64) {
        self.capacity = Double(max(0, capacity))
        self.refillPerSecond = max(0, refillPerSecond)
        level = self.capacity
        settledAt = now
        emptiedAt = level > 0 ? nil : now
    }

    /// Tokens available at `now`: at most `capacity`, negative while in debt.
    public func balance(now: UInt64) -> Double {
        guard now > settledAt else { return level }
        return min(capacity, level + Double(now - settledAt) * refillPerSecond / 1_000_000_000)
    }

    /// Takes `tokens` used at `now`, going into debt if the balance is short.
    public mutating func charge(_ tokens: Int, now: UInt64) {
        guard tokens > 0 else { return }
        settle(now: now)
        let wasPositive = level > 0
        level -= Double(tokens)
        if wasPositive && level <= 0 { emptiedAt = now }
    }

    /// Nanoseconds from `now` until the balance is above zero: 0 when it
    /// already is, `UInt64.max` when the bucket never refills.
    public func nanosUntilPositive(now: UInt64) -> UInt64 {
        let balance = balance(now: now)
        guard balance <= 0 else { return 0 }
        guard refillPerSecond > 0, capacity > 0 else { return .max }
        let nanos = (-balance * 1_000_000_000 / refillPerSecond).rounded(.up) + 1
        return nanos < Double(UInt64.max) ? UInt64(nanos) : .max
    }

    /// When the balance fell to zero or below, if it is still there at `now`;
    /// nil while tokens are available.
    public func exhaustedSince(now: UInt64) -> UInt64? {
        balance(now: now) > 0 ? nil : (emptiedAt ?? now)
    }

    /// Changes the size and rate from `now` on, keeping the balance (cut to
    /// the new capacity) and any debt.
    public mutating func reconfigure(capacity: Int, refillPerSecond: Double, now: UInt64) {
        settle(now: now)
        let wasPositive = level > 0
        self.capacity = Double(max(0, capacity))
        self.refillPerSecond = max(0, refillPerSecond)
        level = min(level, self.capacity)
        if wasPositive && level <= 0 { emptiedAt = now }
    }

    /// Adds the refill up to `now` to the level.
    private mutating func settle(now: UInt64) {
        level = balance(now: now)
        settledAt = max(settledAt, now)
    }
}
