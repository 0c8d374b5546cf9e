import Testing
@testable import KernelCore

@Suite struct LogRingTests {
    @Test func keepsTheNewestLinesInOrder() {
        let ring = LogRing(capacity: 3)
        for index in 1...5 { ring.append(.info, .plugin, "line \(index)") }
        #expect(ring.tail().map(\.text) == ["line 3", "line 4", "line 5"])
        #expect(ring.tail(2).map(\.text) == ["line 4", "line 5"])
        #expect(ring.tail().map(\.seq) == [3, 4, 5])
    }

    @Test func followSeesTheTailThenNewLinesUntilFinished() async {
        let ring = LogRing(capacity: 10)
        ring.append(.info, .kernel, "old")
        let stream = ring.follow(tail: 1)
        ring.append(.warn, .plugin, "new")
        ring.finish()
        var texts: [String] = []
        for await line in stream { texts.append(line.text) }
        #expect(texts == ["old", "new"])
    }

    @Test func followAfterFinishEndsAtOnce() async {
        let ring = LogRing(capacity: 10)
        ring.append(.info, .kernel, "only")
        ring.finish()
        var count = 0
        for await _ in ring.follow(tail: nil) { count += 1 }
        #expect(count == 1)
    }
}
