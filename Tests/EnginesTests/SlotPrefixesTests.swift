@testable import Engines
import Testing

/// Where the prefix cache puts a prompt, and what it reuses (`SlotPrefixes`),
/// without llama.cpp: the engine carries out these placements as they are.
@Suite struct SlotPrefixesTests {
    /// `count` tokens starting at `first`: 1, 2, 3…
    private func tokens(_ count: Int, from first: Int32 = 1) -> [Int32] {
        (0..<Int32(count)).map { first + $0 }
    }

    /// Slots holding `contents`.
    private func cache(_ contents: [[Int32]]) -> SlotPrefixes {
        var prefixes = SlotPrefixes(slots: contents.count)
        for (slot, tokens) in contents.enumerated() {
            for token in tokens { prefixes.append(token, slot: slot) }
        }
        return prefixes
    }

    @Test func withNothingToReuseTheLowestFreeSlotIsTaken() {
        let prefixes = SlotPrefixes(slots: 3)
        #expect(prefixes.place(tokens(10), free: [0, 1, 2]) == .init(slot: 0, copyFrom: nil, reused: 0))
        #expect(cache([[], tokens(5, from: 50), tokens(5, from: 60)]).place(tokens(10), free: [2, 1]) == .init(slot: 1, copyFrom: nil, reused: 0))
    }

    @Test func aFreeSlotHoldingAPrefixIsReusedUpToTheDivergence() {
        let prefixes = cache([tokens(5, from: 100), tokens(40) + [7, 7]])
        let prompt = tokens(40) + [9, 9, 9]
        #expect(prefixes.place(prompt, free: [0, 1]) == .init(slot: 1, copyFrom: nil, reused: 40))
    }

    @Test func theLastPromptTokenIsAlwaysComputed() {
        let prefixes = cache([tokens(30)])
        #expect(prefixes.place(tokens(30), free: [0]).reused == 29)
        #expect(prefixes.place(tokens(20), free: [0]).reused == 19)
        #expect(prefixes.place(tokens(1), free: [0]).reused == 0)
    }

    @Test func aPromptThatDivergesAtItsFirstTokenReusesNothing() {
        let prefixes = cache([tokens(30), tokens(30)])
        #expect(prefixes.place(tokens(30, from: 500), free: [1, 0]) == .init(slot: 0, copyFrom: nil, reused: 0))
    }

    @Test func aLongerPrefixInABusySlotIsCopiedIntoTheLowestFreeSlot() {
        // Slot 2 runs a sequence that shares 50 tokens; the free slots share 0 and 3.
        let prefixes = cache([tokens(8, from: 200), tokens(3) + [0], tokens(60)])
        let placement = prefixes.place(tokens(50) + [1, 2], free: [1, 0])
        #expect(placement == .init(slot: 0, copyFrom: 2, reused: 50))
    }

    @Test func aCopyThatSavesFewerTokensThanItIsWorthIsNotMade() {
        let saved = SlotPrefixes.minimumCopy - 1
        let prefixes = cache([tokens(10) + [0], tokens(10 + saved) + [0]])
        #expect(prefixes.place(tokens(40), free: [0]) == .init(slot: 0, copyFrom: nil, reused: 10))
        let worth = cache([tokens(10) + [0], tokens(10 + saved + 1) + [0]])
        #expect(worth.place(tokens(40), free: [0]) == .init(slot: 0, copyFrom: 1, reused: 10 + saved + 1))
    }

    @Test func applyingAPlacementLeavesTheSlotHoldingTheReusedTokens() {
        var prefixes = cache([tokens(3), tokens(60)])
        let placement = prefixes.place(tokens(50) + [1], free: [0])
        prefixes.apply(placement)
        #expect(prefixes.tokens[0] == tokens(50))
        #expect(prefixes.tokens[1] == tokens(60))
        #expect(prefixes.cellsHeld == 110)
        prefixes.clear(1)
        #expect(prefixes.tokens[1].isEmpty && prefixes.cellsHeld == 50)
    }
}
