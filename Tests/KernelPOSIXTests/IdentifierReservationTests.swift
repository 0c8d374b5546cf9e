import Foundation
import KernelPOSIX
import Testing

@Suite struct IdentifierReservationTests {
    private func scratchPath() -> String {
        NSTemporaryDirectory() + "agentos-ids-\(UUID().uuidString)"
    }

    @Test func aFreshHomeStartsAtOneAndReservesAhead() throws {
        let path = scratchPath()
        let ids = try IdentifierReservation(path: path)
        #expect(ids.firstID == 1)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "\(1 + IdentifierReservation.headroom)\n")
    }

    @Test func theNextRunStartsPastEveryIdTheLastOneHandedOut() throws {
        let path = scratchPath()
        let first = try IdentifierReservation(path: path)
        // The first run hands out ids well past half its headroom, then dies without a clean shutdown.
        let used = first.firstID + IdentifierReservation.headroom * 3 / 4
        try first.keepAhead(of: used)
        let second = try IdentifierReservation(path: path)
        #expect(second.firstID > used)
    }

    @Test func theMarkIsNotRewrittenWhileFarAhead() throws {
        let path = scratchPath()
        let ids = try IdentifierReservation(path: path)
        let mark = try String(contentsOfFile: path, encoding: .utf8)
        try ids.keepAhead(of: ids.firstID + 10)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == mark)
    }

    @Test func aCorruptMarkIsRefusedWithWhatToDo() throws {
        let path = scratchPath()
        try "not a number".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try IdentifierReservation(path: path)
            Issue.record("a corrupt mark was accepted")
        } catch {
            #expect(error.localizedDescription.contains("remove the file to start ids at 1"))
        }
    }
}
