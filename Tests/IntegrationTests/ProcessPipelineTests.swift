import ControlAPI
import Foundation
import Testing

/// Plain messages to a process-mode instance are sent to its host ahead of
/// each other's returns (pipelined). The host still handles them one at a
/// time and in order, each exactly once: across a flood from several
/// senders, a request between them, a crash of the host in the middle of a
/// pipelined run (the messages it never started go to the restarted host),
/// and an unload while messages are in the host.
@Suite(.serialized) struct ProcessPipelineTests {
    private func loadIsolated(_ kernel: KernelProcess, _ plugin: String) async throws {
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin(plugin), isolation: "process"))
    }

    /// Sends `text` to `name` as a plain message (nobody waits for it).
    private func post(_ kernel: KernelProcess, _ name: String, _ text: String) async throws {
        _ = try await kernel.client.send(name, SendRequest(text: text))
    }

    /// Waits until `name` has taken every message sent to it (`count` so far) from its mailbox.
    private func taken(_ kernel: KernelProcess, _ name: String, count: UInt64) async throws -> Bool {
        try await kernel.eventually {
            let row = try await kernel.listed(name)
            return row?.messagesIn == count && row?.mailboxDepth == 0
        }
    }

    private func queued(_ kernel: KernelProcess, _ name: String, depth: Int) async throws -> Bool {
        try await kernel.eventually { try await kernel.listed(name)?.mailboxDepth == depth }
    }

    /// Holds the crasher's host in a handler (`wait PATH`) while `bodies` queue
    /// behind it, so they are taken and sent to the host as one run once the
    /// returned path is created (`release`).
    private func queueBehindAWait(_ kernel: KernelProcess, _ bodies: [String]) async throws -> String {
        let go = kernel.scratch("go")
        try await post(kernel, "crasher", "wait \(go)")
        try #require(try await taken(kernel, "crasher", count: 1))
        for body in bodies { try await post(kernel, "crasher", body) }
        try #require(try await queued(kernel, "crasher", depth: bodies.count))
        return go
    }

    /// Ends the `wait` of `queueBehindAWait`.
    private func release(_ go: String) {
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
    }

    /// The first word of TEXT in every "crasher: tick TEXT, …" line of the crasher's log, oldest first.
    private func ticks(_ kernel: KernelProcess) async throws -> [String] {
        var found: [String] = []
        for try await entry in kernel.client.logs("crasher") {
            guard let start = entry.text.range(of: "crasher: tick ") else { continue }
            found.append(String(entry.text[start.upperBound...].prefix { $0 != "," && $0 != " " }))
        }
        return found
    }

    private func handlerCount(_ kernel: KernelProcess, _ name: String) async throws -> Double? {
        try await ObservabilityTests.scrape(kernel)["agentos_handler_duration_seconds_count{agent=\"\(name)\"}"]
    }

    @Test func aFloodOfPlainMessagesFromTwoSendersIsHandledOnceEachInEachSendersOrder() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadIsolated(kernel, "ordercheck")
        let senders = ["s1", "s2"]
        for name in senders { try await kernel.load("sequencer", as: name, grants: ["send:ordercheck"]) }

        let replies = try await withThrowingTaskGroup(of: String.self) { group in
            for name in senders {
                group.addTask { try await kernel.ask(name, "ordercheck 10000", timeoutMs: 120_000) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(replies == ["ok", "ok"])
        // Every run was queued before its "ok", so the report comes after all of them.
        #expect(try await kernel.ask("ordercheck", "report") == #"{"received":20000,"violations":0}"#)
        let row = try #require(try await kernel.listed("ordercheck"))
        #expect(row.messagesIn == 20001)
        #expect(row.host?.crashes == 0 && row.host?.restarts == 0)
        // One handler timing per message: the report's is folded in just after its reply.
        #expect(try await kernel.eventually { try await handlerCount(kernel, "ordercheck") == 20001 })
        try await kernel.expectHealthy()
    }

    @Test func aCrashMidPipelineSendsTheMessagesTheHostNeverStartedToTheRestartedHostOnce() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadIsolated(kernel, "crasher")
        let firstPid = try #require(try await kernel.listed("crasher")?.host?.pid)
        // The host waits while the next 21 messages queue; then they are taken and sent as one run.
        release(try await queueBehindAWait(kernel, (1...10).map { "tick \($0)" } + ["segv"] + (11...20).map { "tick \($0)" }))

        // Queued behind the run: a fresh host handled ticks 11…20 and this request, nothing twice.
        #expect(try await kernel.ask("crasher", "count") == "11")
        #expect(try await ticks(kernel) == (1...20).map(String.init), "each tick once, in order, across the crash")
        let row = try #require(try await kernel.listed("crasher"))
        #expect(row.state == "running")
        #expect(row.host?.crashes == 1 && row.host?.restarts == 1)
        #expect(row.host?.pid != firstPid)
        #expect(row.host?.lastCrash?.contains("crasher_fault") == true, "\(row.host?.lastCrash ?? "")")
        #expect(try await kernel.waitForLog("crasher", containing: "sending the 10 message(s) the crashed host never started to the next one"))
        // wait, 20 ticks, segv (the crashed handler) and count: each timed once.
        #expect(try await kernel.eventually { try await handlerCount(kernel, "crasher") == 23 })
        #expect(row.messagesIn == 23)
        try await kernel.expectHealthy()
    }

    @Test func whenTheCrashEndsTheInstanceTheMessagesItsHostNeverStartedAreDeadLetters() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("crasher"), isolation: "process", restart: "temporary"))
        release(try await queueBehindAWait(kernel, ["tick 1", "tick 2", "segv", "tick 3", "tick 4", "tick 5"]))

        #expect(try await kernel.eventually { try await kernel.listed("crasher")?.state == "failed" })
        #expect(try await ticks(kernel) == ["1", "2"])
        var deadLetters = 0
        for try await entry in kernel.client.logs("crasher") where entry.text.contains("dead letter") { deadLetters += 1 }
        #expect(deadLetters == 3, "ticks 3…5 were sent to the host that died, and are not lost silently")
        try await kernel.expectHealthy()
    }

    @Test func messagesLargerThanTheSocketBufferFlowBothWaysWithoutADeadlock() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadIsolated(kernel, "crasher")
        // 30 × 256 KiB: each write of the kernel's (about 1 MiB in flight) outgrows the socket's
        // buffer while the host sends a log syscall per message.
        let padding = String(repeating: "x", count: 256 << 10)
        release(try await queueBehindAWait(kernel, (1...30).map { "tick \($0) \(padding)" }))

        #expect(try await kernel.ask("crasher", "count", timeoutMs: 60_000) == "32")
        #expect(try await ticks(kernel) == (1...30).map(String.init))
        #expect(try await kernel.listed("crasher")?.host?.crashes == 0)
        try await kernel.expectHealthy()
    }

    @Test func aPlainMessageRunningPastItsDeadlineEndsItsHostAndTheOnesBehindItRunOnTheNext() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadIsolated(kernel, "crasher")
        let go = try await queueBehindAWait(kernel, ["tick 1", "spin", "tick 2", "tick 3"])
        // The host's deadline applies from the kernel's next read: `wait`, being waited for already, is not killed.
        #expect(try kernel.agentctl("quota", "crasher", "handler_deadline_ms=300").status == 0)
        release(go)

        #expect(try await kernel.ask("crasher", "count") == "3", "a fresh host ran ticks 2 and 3, then this")
        #expect(try await ticks(kernel) == ["1", "2", "3"])
        let host = try #require(try await kernel.listed("crasher")?.host)
        #expect(host.crashes == 1 && host.restarts == 1)
        #expect(host.lastCrash?.contains("did not answer in time") == true, "\(host.lastCrash ?? "")")
        try await kernel.expectHealthy()
    }

    @Test func aRequestBetweenPlainMessagesIsHandledAfterTheOnesBeforeItAndBeforeTheOnesAfter() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadIsolated(kernel, "crasher")
        let go = kernel.scratch("go")

        try await post(kernel, "crasher", "wait \(go)")
        try #require(try await taken(kernel, "crasher", count: 1))
        for index in 1...5 { try await post(kernel, "crasher", "tick \(index)") }
        async let count = kernel.ask("crasher", "count")
        try #require(try await queued(kernel, "crasher", depth: 6))
        for index in 6...10 { try await post(kernel, "crasher", "tick \(index)") }
        try #require(try await queued(kernel, "crasher", depth: 11))
        #expect(FileManager.default.createFile(atPath: go, contents: nil))

        #expect(try await count == "7", "wait and ticks 1…5 ran before the request, ticks 6…10 after it")
        #expect(try await kernel.ask("crasher", "count") == "13")
        #expect(try await ticks(kernel) == (1...10).map(String.init))
        #expect(try await kernel.listed("crasher")?.host?.crashes == 0)
        try await kernel.expectHealthy()
    }

    @Test func anUnloadLetsTheHostFinishWhatWasSentAheadAndQueuedMessagesBecomeDeadLetters() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadIsolated(kernel, "crasher")
        let pid = try #require(try await kernel.listed("crasher")?.host?.pid)
        let first = kernel.scratch("first")
        let second = kernel.scratch("second")

        // Ticks 1…10 are sent ahead while the host waits on `second`; ticks 11…15 stay queued behind them.
        try await post(kernel, "crasher", "wait \(first)")
        try #require(try await taken(kernel, "crasher", count: 1))
        try await post(kernel, "crasher", "wait \(second)")
        for index in 1...10 { try await post(kernel, "crasher", "tick \(index)") }
        try #require(try await queued(kernel, "crasher", depth: 11))
        #expect(FileManager.default.createFile(atPath: first, contents: nil))
        try #require(try await taken(kernel, "crasher", count: 12))
        for index in 11...15 { try await post(kernel, "crasher", "tick \(index)") }
        try #require(try await queued(kernel, "crasher", depth: 5))

        async let unloaded = kernel.client.unload("crasher", timeout: 30)
        #expect(try await kernel.eventually {
            var deadLetters = 0
            for try await entry in kernel.client.logs("crasher") where entry.text.contains("dead letter") { deadLetters += 1 }
            return deadLetters == 5
        }, "the queued ticks are returned at once, as in thread mode")
        #expect(FileManager.default.createFile(atPath: second, contents: nil))
        #expect(try await unloaded.state == "stopped")

        #expect(try await ticks(kernel) == (1...10).map(String.init), "what the host had was handled before stop")
        #expect(try await kernel.eventually { kill(pid_t(pid), 0) != 0 && errno == ESRCH })
        try await kernel.expectHealthy()
    }
}
