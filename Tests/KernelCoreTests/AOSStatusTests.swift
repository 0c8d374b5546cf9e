import Testing
import KernelCore

/// How statuses are shown: the header's names, and the value of a code the header does not name.
@Suite struct AOSStatusTests {
    @Test func knownCodeShowsTheHeadersNameAndMessage() {
        #expect(AOSStatus.full.description == "AOS_EFULL (mailbox full)")
        #expect(AOSStatus.full.isKnown)
    }

    @Test(arguments: [Int32(7), 1, -99, Int32.min])
    func unknownCodeShowsItsValue(_ code: Int32) {
        let status = AOSStatus(rawValue: code)
        #expect(!status.isKnown)
        #expect(status.name == "AOS_E?(\(code))")
        #expect(status.description == "AOS_E?(\(code)) (not an aos_status code)")
    }
}
