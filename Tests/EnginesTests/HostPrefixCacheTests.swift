@testable import Engines
import Testing

/// The host-memory tier of the prefix cache (`HostPrefixCache`), without
/// llama.cpp: which entry a prompt finds, what is dropped for what, and the budget.
@Suite struct HostPrefixCacheTests {
    private func tokens(_ count: Int, from first: Int32 = 1) -> [Int32] {
        (0..<Int32(count)).map { first + $0 }
    }

    private func state(_ bytes: Int) -> [UInt8] { [UInt8](repeating: 7, count: bytes) }

    @Test func aPromptFindsTheEntrySharingTheLongestPrefix() {
        var cache = HostPrefixCache(budget: 1000)
        cache.insert(tokens: tokens(50), state: state(100))
        cache.insert(tokens: tokens(30) + tokens(40, from: 500), state: state(100))
        let found = cache.longestPrefix(of: tokens(45) + [9])
        #expect(found?.reusable == 45 && cache.entries[found!.index].tokens.count == 50)
        #expect(cache.longestPrefix(of: [99, 98]) == nil)
    }

    @Test func theLastPromptTokenIsNeverReused() {
        var cache = HostPrefixCache(budget: 1000)
        cache.insert(tokens: tokens(50), state: state(100))
        #expect(cache.longestPrefix(of: tokens(50))?.reusable == 49)
        #expect(cache.longestPrefix(of: tokens(1)) == nil)
    }

    @Test func anEntryThatIsAPrefixOfANewOneIsDroppedForIt() {
        var cache = HostPrefixCache(budget: 1000)
        cache.insert(tokens: tokens(20), state: state(100))
        cache.insert(tokens: tokens(20, from: 300), state: state(100))
        cache.insert(tokens: tokens(40), state: state(150))
        #expect(cache.entries.map(\.tokens.count).sorted() == [20, 40])
        #expect(cache.bytes == 250)
        #expect(cache.covers(tokens(33)) && !cache.covers(tokens(41)))
        #expect(cache.evictions == 0)
    }

    @Test func theLeastRecentlyUsedEntryIsEvictedForRoom() {
        var cache = HostPrefixCache(budget: 300)
        cache.insert(tokens: tokens(10, from: 100), state: state(100))
        cache.insert(tokens: tokens(10, from: 200), state: state(100))
        cache.insert(tokens: tokens(10, from: 300), state: state(100))
        cache.touch(cache.entries[0].id)
        cache.insert(tokens: tokens(10, from: 400), state: state(100))
        #expect(cache.entries.map { $0.tokens[0] } == [100, 300, 400])
        #expect(cache.evictions == 1 && cache.bytes == 300)
    }

    @Test func anEntryLargerThanTheBudgetIsNotKeptAndEvictsNothing() {
        var cache = HostPrefixCache(budget: 300)
        cache.insert(tokens: tokens(10), state: state(200))
        let keptTooLarge = cache.insert(tokens: tokens(10, from: 100), state: state(301))
        #expect(!keptTooLarge)
        #expect(cache.entries.count == 1 && cache.evictions == 0)
        let keptWhole = cache.insert(tokens: tokens(10, from: 200), state: state(300))
        #expect(keptWhole)
        #expect(cache.entries.count == 1 && cache.evictions == 1)
    }

    @Test func pinnedStatesShareTheBudgetAndAreNeverEvicted() {
        var cache = HostPrefixCache(budget: 300)
        cache.insert(tokens: tokens(10, from: 100), state: state(100))
        cache.insert(tokens: tokens(10, from: 200), state: state(100))
        let pinned = cache.pin(150)
        #expect(pinned)
        #expect(cache.entries.count == 1 && cache.bytes == 250 && cache.evictions == 1)
        let pinnedTooMuch = cache.pin(151)
        #expect(!pinnedTooMuch)
        let keptBesidePinned = cache.insert(tokens: tokens(10, from: 300), state: state(151))
        #expect(!keptBesidePinned)
        let pinnedAll = cache.pin(150)
        #expect(pinnedAll)
        #expect(cache.entries.isEmpty && cache.bytes == 300)
        cache.unpin(150)
        cache.unpin(150)
        #expect(cache.bytes == 0 && cache.pinnedBytes == 0)
    }

    @Test func aZeroBudgetKeepsNothing() {
        var cache = HostPrefixCache(budget: 0)
        let kept = cache.insert(tokens: tokens(10), state: state(1))
        #expect(!kept)
        let pinned = cache.pin(1)
        #expect(!pinned)
        #expect(cache.entries.isEmpty)
    }
}
