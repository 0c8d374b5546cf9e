import Glibc
import Testing
@testable import KernelCore

/// `/proc/PID/stat` as the kernel reads a process-mode host's use of its OS limits.
@Suite struct HostUsageTests {
    @Test func readsCPUTimeAndAddressSpacePastACommandWithSpacesAndParentheses() {
        let line = "4242 (agentos host (x)) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 130 0 0 20 0 1 0 999 73400320 512 18446744073709551615"
        let usage = HostUsage(stat: ArraySlice(line.utf8), ticksPerSecond: 100)
        #expect(usage == HostUsage(addressSpaceBytes: 73_400_320, cpuSeconds: 3))
    }

    @Test func aShortOrGarbledLineIsNil() {
        #expect(HostUsage(stat: ArraySlice("4242 (host) S 1 2 3".utf8), ticksPerSecond: 100) == nil)
        #expect(HostUsage(stat: ArraySlice("no parenthesis here".utf8), ticksPerSecond: 100) == nil)
        #expect(HostUsage(stat: ArraySlice("1 (h) S 1 1 1 0 -1 0 0 0 0 0 x 1 0 0 20 0 1 0 9 100 1".utf8), ticksPerSecond: 100) == nil)
    }

    @Test func thisProcessReadsItself() throws {
        let usage = try #require(HostUsage(pid: getpid()))
        #expect(usage.addressSpaceBytes > 1 << 20)
    }
}
