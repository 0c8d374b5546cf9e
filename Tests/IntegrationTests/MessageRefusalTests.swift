import ControlAPI
import Foundation
import Testing

/// Messages the kernel refuses, from agentctl and from a plugin's `send`
/// syscall: to nobody, too big, into a full mailbox. Each is an error to the
/// sender at once, never a silent drop or a wait.
@Suite(.serialized) struct MessageRefusalTests {
    // MARK: Unknown receiver

    @Test func sendToUnknownAgentIsNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("not_found", status: 404) {
            try await kernel.client.send("ghost", SendRequest(text: "hello?"))
        }
        #expect(message == "no agent named ghost is running (see `agentctl ps`)")
        let wait = await expectAPIError("not_found", status: 404) { try await kernel.ask("ghost", "hello?") }
        #expect(wait == message)
        try await kernel.expectHealthy()
    }

    @Test func sendToUnknownAgentThroughAgentctlExitsOne() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let send = try await kernel.agentctlAsync("send", "ghost", "hello?")
        #expect(send.status == 1)
        #expect(send.stdout.isEmpty)
        #expect(send.stderr == "agentctl: no agent named ghost is running (see `agentctl ps`)\n")
        try await kernel.expectHealthy()
    }

    @Test func syscallSendToUnknownAgentIsENOTFOUND() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("sender", grants: ["send:*"])
        try await kernel.load("echo")
        #expect(try await kernel.ask("sender", "ghost hello?") == "AOS_ENOTFOUND")
        #expect(try await kernel.ask("sender", "echo hello") == "AOS_OK", "the sender keeps working")
        try await kernel.expectHealthy()
    }

    // MARK: A handler that fails

    @Test func requestWhoseHandlerFailsIsHandlerFailed() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("replyfail")
        let message = await expectAPIError("handler_failed", status: 502) { try await kernel.ask("replyfail", "hello") }
        #expect(message == "the handler of replyfail failed before replying (see `agentctl logs replyfail`)")
        let replyfail = try await kernel.client.instance("replyfail")
        #expect(replyfail.state == "running", "a failed handler does not stop the instance")
        #expect(replyfail.lastError?.hasPrefix("on_message returned AOS_EINTERNAL for message ") == true, "\(replyfail.lastError ?? "nil")")
        let send = try await kernel.agentctlAsync("send", "replyfail", "again", "--wait")
        #expect(send.status == 1)
        #expect(send.stderr == "agentctl: \(message)\n")
        try await kernel.expectHealthy()
    }

    // MARK: Over the size limit

    @Test func messageOverTheLimitIsTooBig() async throws {
        let kernel = try await KernelProcess(["--max-message-bytes", "1024"])
        defer { kernel.stop() }
        try await kernel.load("echo")
        let body = String(repeating: "x", count: 2000)
        let message = await expectAPIError("too_big", status: 413) {
            try await kernel.client.send("echo", SendRequest(text: body))
        }
        #expect(message == "message is 2000 bytes; the limit is 1024 (agentosd --max-message-bytes)")
        #expect(try await kernel.client.instance("echo").messagesIn == 0)
        try await kernel.expectHealthy()
    }

    @Test func messageOverTheLimitThroughAgentctlExitsOne() async throws {
        let kernel = try await KernelProcess(["--max-message-bytes", "1024"])
        defer { kernel.stop() }
        try await kernel.load("echo")
        let send = try await kernel.agentctlAsync("send", "echo", String(repeating: "x", count: 2000), "--wait")
        #expect(send.status == 1)
        #expect(send.stderr == "agentctl: message is 2000 bytes; the limit is 1024 (agentosd --max-message-bytes)\n")
        try await kernel.expectHealthy()
    }

    @Test func messageExactlyAtTheLimitIsDelivered() async throws {
        let kernel = try await KernelProcess(["--max-message-bytes", "1024"])
        defer { kernel.stop() }
        try await kernel.load("echo")
        let body = String(repeating: "y", count: 1024)
        #expect(try await kernel.ask("echo", body) == body)
        await expectAPIError("too_big", status: 413) { try await kernel.ask("echo", body + "y") }
    }

    @Test func syscallSendOverTheLimitIsETOOBIG() async throws {
        let kernel = try await KernelProcess(["--max-message-bytes", "1024"])
        defer { kernel.stop() }
        try await kernel.load("sender", grants: ["send:*"])
        try await kernel.load("echo")
        #expect(try await kernel.ask("sender", "big echo 5000") == "AOS_ETOOBIG")
        #expect(try await kernel.ask("sender", "big echo 1025") == "AOS_ETOOBIG")
        #expect(try await kernel.ask("sender", "big echo 1024") == "AOS_OK")
        #expect(try await kernel.client.instance("echo").messagesIn == 1, "only the message within the limit arrived")
        try await kernel.expectHealthy()
    }

    // MARK: Full mailbox

    // In these tests slow sleeps 5 s on its first message, so that its mailbox
    // stays full for the whole test even on a busy machine; a refusal that came
    // back well before that did not wait for room. The kernel leaves slow hung
    // at shutdown after 0.2 s rather than waiting for it. The mailbox limit
    // counts messages waiting, not the one being handled.

    @Test func fullMailboxIsRefusedAtOnceAsFull() async throws {
        let kernel = try await KernelProcess(["--mailbox", "2", "--unload-timeout", "0.2"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        let started = Date()
        try await keepSlowBusy(kernel, milliseconds: 5000)
        _ = try await kernel.client.send("slow", SendRequest(text: "1"))
        _ = try await kernel.client.send("slow", SendRequest(text: "1"))  // the mailbox is now full
        let message = await expectAPIError("full", status: 503) {
            try await kernel.client.send("slow", SendRequest(text: "1"))
        }
        let request = await expectAPIError("full", status: 503) { try await kernel.ask("slow", "1") }
        #expect(Date().timeIntervalSince(started) < 4, "a full mailbox does not make the sender wait")
        #expect(message == "mailbox of slow is full (2 messages); retry later")
        #expect(request == message)

        let slow = try await kernel.client.instance("slow")
        #expect(slow.mailboxDepth == 2 && slow.mailboxLimit == 2)
        #expect(slow.messagesIn == 3, "refused messages are not counted as received")
        #expect(try await kernel.client.status().messagesRefused == 2)
        try await kernel.expectHealthy()
    }

    @Test func mailboxLimitCountsWaitingMessagesNotTheOneBeingHandled() async throws {
        let kernel = try await KernelProcess(["--mailbox", "2", "--unload-timeout", "0.2"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        try await keepSlowBusy(kernel, milliseconds: 5000)
        var accepted = 0
        while (try? await kernel.client.send("slow", SendRequest(text: "1"))) != nil, accepted < 10 { accepted += 1 }
        #expect(accepted == 2)
        #expect(try await kernel.client.instance("slow").mailboxDepth == 2)
    }

    @Test func fullMailboxTakesMessagesAgainOnceTheReceiverCatchesUp() async throws {
        let kernel = try await KernelProcess(["--mailbox", "1"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        try await keepSlowBusy(kernel, milliseconds: 2000)
        _ = try await kernel.client.send("slow", SendRequest(text: "1"))
        await expectAPIError("full", status: 503) { try await kernel.client.send("slow", SendRequest(text: "1")) }
        #expect(try await kernel.eventually { (try? await kernel.ask("slow", "1")) == "done" })
    }

    @Test func fullMailboxThroughAgentctlExitsOne() async throws {
        let kernel = try await KernelProcess(["--mailbox", "1", "--unload-timeout", "0.2"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        try await keepSlowBusy(kernel, milliseconds: 5000)
        _ = try await kernel.client.send("slow", SendRequest(text: "1"))
        let send = try await kernel.agentctlAsync("send", "slow", "1")
        #expect(send.status == 1)
        #expect(send.stderr == "agentctl: mailbox of slow is full (1 messages); retry later\n")
        try await kernel.expectHealthy()
    }

    @Test func syscallSendToAFullMailboxIsEFULLAtOnce() async throws {
        let kernel = try await KernelProcess(["--mailbox", "1", "--unload-timeout", "0.2"])
        defer { kernel.stop() }
        try await kernel.load("slow")
        try await kernel.load("sender", grants: ["send:*"])
        let started = Date()
        try await keepSlowBusy(kernel, milliseconds: 5000)
        _ = try await kernel.client.send("slow", SendRequest(text: "1"))
        #expect(try await kernel.ask("sender", "slow 1") == "AOS_EFULL")  // send with timeout 0
        #expect(Date().timeIntervalSince(started) < 4)
        #expect(try await kernel.client.instance("sender").messagesOut == 0)
        try await kernel.expectHealthy()
    }

    /// Sends slow a message that keeps its handler busy for `milliseconds`, and
    /// returns once the handler runs (the message is in hand, no longer waiting).
    private func keepSlowBusy(_ kernel: KernelProcess, milliseconds: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        _ = try await kernel.client.send("slow", SendRequest(text: "\(milliseconds)"))
        try #require(try await kernel.waitForLog("slow", containing: "slow: sleeping \(milliseconds) ms"), sourceLocation: sourceLocation)
    }
}
