import Testing
@testable import KernelCore

/// The token bucket behind tokens_per_minute, on explicit times.
@Suite struct TokenBucketTests {
    private let start: UInt64 = 5_000_000_000
    private let second: UInt64 = 1_000_000_000

    @Test func startsFullAndRefillsAtItsRate() {
        var bucket = TokenBucket(capacity: 600, refillPerSecond: 10, now: start)
        #expect(bucket.balance(now: start) == 600)
        bucket.charge(600, now: start)
        #expect(bucket.balance(now: start) == 0)
        #expect(bucket.balance(now: start + second) == 10)
        #expect(bucket.balance(now: start + 30 * second) == 300)
        #expect(bucket.balance(now: start + second / 2) == 5)
    }

    @Test func neverHoldsMoreThanItsCapacity() {
        var bucket = TokenBucket(capacity: 600, refillPerSecond: 10, now: start)
        #expect(bucket.balance(now: start + 3600 * second) == 600)
        bucket.charge(100, now: start + 3600 * second)
        #expect(bucket.balance(now: start + 3600 * second) == 500)
        #expect(bucket.balance(now: start + 3700 * second) == 600)
    }

    @Test func chargingMoreThanTheBalanceRunsADebt() {
        var bucket = TokenBucket(capacity: 600, refillPerSecond: 10, now: start)
        #expect(bucket.exhaustedSince(now: start) == nil)
        bucket.charge(700, now: start)
        #expect(bucket.balance(now: start) == -100)
        #expect(bucket.exhaustedSince(now: start) == start)
        // Charging again while in debt keeps the moment it ran dry.
        bucket.charge(50, now: start + 5 * second)
        #expect(bucket.balance(now: start + 5 * second) == -100)
        #expect(bucket.exhaustedSince(now: start + 10 * second) == start)
        #expect(bucket.balance(now: start + 15 * second) == 0)
        #expect(bucket.exhaustedSince(now: start + 15 * second) == start)
        #expect(bucket.exhaustedSince(now: start + 16 * second) == nil)
        // Running dry again starts a new exhaustion.
        bucket.charge(20, now: start + 16 * second)
        #expect(bucket.exhaustedSince(now: start + 16 * second) == start + 16 * second)
    }

    @Test func nanosUntilPositiveIsWhenTheDebtIsPaidOff() {
        var bucket = TokenBucket(capacity: 600, refillPerSecond: 10, now: start)
        #expect(bucket.nanosUntilPositive(now: start) == 0)
        bucket.charge(700, now: start)
        let wait = bucket.nanosUntilPositive(now: start)
        #expect(wait > 10 * second && wait <= 10 * second + 2)
        #expect(bucket.balance(now: start + wait) > 0)
        #expect(bucket.balance(now: start + 10 * second) <= 0)
        // Asked later, the wait is shorter by as much.
        #expect(bucket.nanosUntilPositive(now: start + 4 * second) == wait - 4 * second)
    }

    @Test func aBucketWithoutRefillNeverTurnsPositive() {
        var bucket = TokenBucket(capacity: 10, refillPerSecond: 0, now: start)
        bucket.charge(10, now: start)
        #expect(bucket.nanosUntilPositive(now: start) == .max)
        let empty = TokenBucket(capacity: 0, refillPerSecond: 10, now: start)
        #expect(empty.balance(now: start + second) == 0)
        #expect(empty.nanosUntilPositive(now: start) == .max)
        #expect(empty.exhaustedSince(now: start + second) == start)
    }

    @Test func aTimeBeforeTheLastChargeCountsAsNoTimePassed() {
        var bucket = TokenBucket(capacity: 600, refillPerSecond: 10, now: start)
        bucket.charge(600, now: start + 10 * second)
        #expect(bucket.balance(now: start) == 0)
        bucket.charge(10, now: start)
        #expect(bucket.balance(now: start + 10 * second) == -10)
    }

    @Test func reconfiguringKeepsTheDebtAndCutsTheBalanceToTheNewCapacity() {
        var bucket = TokenBucket(capacity: 600, refillPerSecond: 10, now: start)
        bucket.reconfigure(capacity: 100, refillPerSecond: 100, now: start)
        #expect(bucket.balance(now: start) == 100)
        bucket.charge(150, now: start)
        bucket.reconfigure(capacity: 6000, refillPerSecond: 1, now: start + second / 10)
        #expect(bucket.balance(now: start + second / 10) == -40)
        #expect(bucket.balance(now: start + second / 10 + 10 * second) == -30)
        #expect(bucket.exhaustedSince(now: start + second) == start)
    }
}
