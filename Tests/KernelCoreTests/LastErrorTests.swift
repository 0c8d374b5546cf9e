import AgentOSTesting
import KernelCore
import Testing

/// `LastError`, behind the `last_error` syscall: per thread, the reason of the
/// last failed syscall, never an older failure's, never NULL.
@Suite struct LastErrorTests {
    @Test func aThreadWithNoFailureReadsEmptyNotNull() async {
        let text = await onThread { String(cString: LastError.cString()) }
        #expect(text == "")
    }

    @Test func recordedReasonIsWhatTheFailedSyscallLeaves() async {
        let text = await onThread {
            LastError.record("no agent named weather is running (see `agentctl ps`)")
            LastError.settle(.notFound)
            return LastError.text
        }
        #expect(text == "no agent named weather is running (see `agentctl ps`)")
    }

    @Test func failureWithNoReasonShowsItsStatusNotAnOlderReason() async {
        let text = await onThread {
            LastError.record("an older reason")
            LastError.settle(.permissionDenied)
            LastError.settle(.full)
            return LastError.text
        }
        #expect(text == "AOS_EFULL (mailbox full)")
    }

    @Test func successLeavesTheLastFailureAsItWas() async {
        let text = await onThread {
            LastError.record("too big")
            LastError.settle(.tooBig)
            LastError.settle(.ok)
            return LastError.text
        }
        #expect(text == "too big")
    }

    @Test func reasonsAreKeptPerThread() async {
        let first = await onThread {
            LastError.record("first thread's reason")
            LastError.settle(.invalidArgument)
            return LastError.text
        }
        let second = await onThread { LastError.text }
        #expect(first == "first thread's reason")
        #expect(second == "")
    }

    @Test func longReasonIsCutToOneLineOfValidUTF8() async {
        let text = await onThread {
            LastError.record("é" + String(repeating: "ü", count: LastError.maxBytes) + "\nsecond line")
            LastError.settle(.invalidArgument)
            return LastError.text
        }
        #expect(text.utf8.count <= LastError.maxBytes)
        #expect(!text.contains("\n"))
        #expect(text.unicodeScalars.allSatisfy { $0 == "é" || $0 == "ü" }, "no U+FFFD from a cut character")
    }

    @Test func reasonWithNewlinesBecomesOneLine() async {
        let text = await onThread {
            LastError.record("a\nb")
            LastError.settle(.invalidArgument)
            return LastError.text
        }
        #expect(text == "ab")
    }
}
