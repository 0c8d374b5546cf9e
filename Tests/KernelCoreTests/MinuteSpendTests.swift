import Testing
@testable import KernelCore

/// The last minute's spend behind a rate quota's use, on explicit times.
@Suite struct MinuteSpendTests {
    private let second: UInt64 = 1_000_000_000
    private let start: UInt64 = 7_000 * 1_000_000_000

    @Test func countsWhatWasSpentInTheLastSixtySeconds() {
        var spend = MinuteSpend()
        #expect(spend.total(now: start) == 0)
        spend.add(5, now: start)
        spend.add(7, now: start + second / 2)
        spend.add(1, now: start + 30 * second)
        #expect(spend.total(now: start + 30 * second) == 13)
        #expect(spend.total(now: start + 59 * second) == 13)
        // The first second leaves the window; the 30th stays until its own minute is up.
        #expect(spend.total(now: start + 60 * second) == 1)
        #expect(spend.total(now: start + 89 * second) == 1)
        #expect(spend.total(now: start + 90 * second) == 0)
    }

    @Test func slotsSkippedSinceTheLastSpendAreCleared() {
        var spend = MinuteSpend()
        for tick in 0..<60 { spend.add(1, now: start + UInt64(tick) * second) }
        #expect(spend.total(now: start + 59 * second) == 60)
        spend.add(100, now: start + 75 * second)  // seconds 60…74 spent nothing; 0…15 left the window
        #expect(spend.total(now: start + 75 * second) == 100 + 44)
        spend.add(3, now: start + 500 * second)  // long after: nothing older survives
        #expect(spend.total(now: start + 500 * second) == 3)
    }

    @Test func aTimeBeforeTheNewestCountsInTheNewestSecond() {
        var spend = MinuteSpend()
        spend.add(1, now: start + 10 * second)
        spend.add(2, now: start)
        #expect(spend.total(now: start + 69 * second) == 3)
        #expect(spend.total(now: start + 70 * second) == 0)
        #expect(spend.total(now: start) == 3)
    }
}
