import ControlAPI
import Foundation
import Testing

/// Unloading: unknown names, and what happens to messages in flight — the
/// handler running finishes, queued requests fail with `stopping`, queued
/// plain messages become logged dead letters, blocked syscalls wake up.
@Suite(.serialized) struct UnloadTests {
    @Test func unloadOfUnknownNameIsNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("not_found", status: 404) { try await kernel.client.unload("ghost") }
        #expect(message == "no instance named ghost (see `agentctl ps -a`)")
        try await kernel.expectHealthy()
    }

    @Test func unloadOfUnknownNameThroughAgentctlExitsOne() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let unload = try await kernel.agentctlAsync("unload", "ghost")
        #expect(unload.status == 1)
        #expect(unload.stdout.isEmpty)
        #expect(unload.stderr == "agentctl: no instance named ghost (see `agentctl ps -a`)\n")
        try await kernel.expectHealthy()
    }

    @Test func secondUnloadOfTheSameInstanceIsNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        #expect(try await kernel.client.unload("echo").state == "stopped")
        await expectAPIError("not_found", status: 404) { try await kernel.client.unload("echo") }
        #expect(try await kernel.listed("echo")?.state == "stopped")
        #expect(kernel.privateCopies().isEmpty, "the library is closed and its copy removed")
        try await kernel.expectHealthy()
    }

    @Test func unloadLetsTheRunningHandlerReplyAndFailsQueuedRequestsWithStopping() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("slow")

        // One request in hand (slow sleeps 4 s on it: ample time to queue the
        // others on a busy machine), then four queued behind it: two through
        // agentctl, two through the control API.
        let inHand = try kernel.startAgentctl(["send", "slow", "4000", "--wait"])
        try #require(try await kernel.waitForLog("slow", containing: "slow: sleeping 4000 ms"))
        let queuedCommands = try (0..<2).map { _ in try kernel.startAgentctl(["send", "slow", "1", "--wait"]) }
        let client = kernel.client
        let queuedRequests = (0..<2).map { _ in
            Task { try await client.send("slow", SendRequest(text: "1", wait: true, timeoutMs: 30_000)) }
        }
        try #require(try await kernel.eventually(3.5) { try await kernel.client.instance("slow").mailboxDepth == 4 })

        let unloaded = try await kernel.client.unload("slow", timeout: 10)
        #expect(unloaded.state == "stopped")

        let finished = await inHand.finish()
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout == "done\n")
        for command in queuedCommands {
            let result = await command.finish()
            #expect(result.status == 1, "\(result.stdout)")
            #expect(result.stderr == "agentctl: slow was unloaded before it replied\n")
        }
        for request in queuedRequests {
            await expectAPIError("stopping", status: 503) { try await request.value }
        }
        try await kernel.expectHealthy()
    }

    @Test func plainMessagesQueuedAtUnloadAreLoggedAsDeadLetters() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("slow")
        _ = try await kernel.client.send("slow", SendRequest(text: "3000"))
        try #require(try await kernel.waitForLog("slow", containing: "slow: sleeping 3000 ms"))
        var queued: [UInt64] = []
        for _ in 0..<3 { queued.append(try await kernel.client.send("slow", SendRequest(text: "1")).messageId) }
        try #require(try await kernel.client.instance("slow").mailboxDepth == 3, "the first one is still in hand")
        #expect(try await kernel.client.unload("slow", timeout: 10).state == "stopped")

        let logs = try await kernel.agentctlAsync("logs", "slow")
        #expect(logs.status == 0, "\(logs.stderr)")
        let deadLetters = logs.stdout.split(separator: "\n").filter { $0.contains("dead letter") }
        #expect(deadLetters.count == 3, "\(logs.stdout)")
        for id in queued {
            #expect(deadLetters.contains { $0.hasSuffix("dead letter: message \(id) from agentctl (1 bytes) was never delivered") }, "\(logs.stdout)")
        }
        try await kernel.expectHealthy()
    }

    /// A request queued behind a handler that will not return fails with
    /// `stopping` at unload — at once, not when the handler returns or the
    /// caller's own timeout passes. (It must not matter how the receiver takes
    /// its mailbox: one message at a time, or all queued ones in a batch.)
    @Test func requestQueuedBehindAStuckHandlerFailsWithStoppingOnUnload() async throws {
        let kernel = try await KernelProcess(["--unload-timeout", "0.5"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        _ = try await kernel.client.send("slow", SendRequest(text: "2000"))
        try #require(try await kernel.waitForLog("slow", containing: "slow: sleeping 2000 ms"))
        // Both queued while slow is busy (a batching receiver takes them together).
        _ = try await kernel.client.send("slow", SendRequest(text: "60000"))
        let client = kernel.client
        let request = Task { try await client.send("slow", SendRequest(text: "1", wait: true, timeoutMs: 10_000)) }
        #expect(try await kernel.eventually { try await kernel.client.instance("slow").messagesIn == 3 })
        try #require(!(try await kernel.waitForLog("slow", containing: "slow: sleeping 60000 ms", seconds: 0)), "queued in time")
        try #require(try await kernel.waitForLog("slow", containing: "slow: sleeping 60000 ms"))

        let started = Date()
        await expectAPIError("hung", status: 504) { try await kernel.client.unload("slow", timeout: 0.5) }
        let message = await expectAPIError("stopping", status: 503) { try await request.value }
        #expect(message == "slow was unloaded before it replied")
        #expect(Date().timeIntervalSince(started) < 5, "the request waited for its own timeout instead")
        try await kernel.expectHealthy()
    }

    @Test func unloadWakesASyscallBlockedOnAFullMailbox() async throws {
        let kernel = try await KernelProcess(["--mailbox", "1", "--unload-timeout", "0.2"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        try await kernel.load("sequencer", grants: ["send:*"])
        let started = Date()
        _ = try await kernel.client.send("slow", SendRequest(text: "5000"))  // keeps slow busy for 5 s
        let client = kernel.client
        let sequencer = Task { try await client.send("sequencer", SendRequest(text: "slow 5", wait: true, timeoutMs: 30_000)) }
        // Its first message fills slow's mailbox of one; the next send waits (up to 10 s) for room.
        try #require(try await kernel.eventually { try await kernel.listed("slow")?.sendersWaiting == 1 })

        #expect(try await kernel.client.unload("sequencer", timeout: 10).state == "stopped")
        #expect(try await sequencer.value.reply == "AOS_ESTOPPING")
        #expect(Date().timeIntervalSince(started) < 4, "the blocked send returned before slow made room")
        try await kernel.expectHealthy()
    }

    @Test func unloadThroughAgentctlPrintsTheInstance() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let unload = try await kernel.agentctlAsync("unload", "echo")
        #expect(unload.status == 0, "\(unload.stderr)")
        #expect(unload.stdout == "unloaded echo\n")
        #expect(unload.stderr.isEmpty)
    }
}
