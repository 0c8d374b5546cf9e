import ControlAPI
import Foundation
import Testing

/// Quotas on a real kernel: set at runtime or by policy.yaml, enforced on the
/// capsprobe fixture's syscalls, visible in `quota`, `ps` and the audit log.
@Suite(.serialized) struct QuotaTests {
    /// A kernel with the calculator, an echo named "target" and a probe that may call and send to anything.
    private func kernel(_ arguments: [String] = []) async throws -> KernelProcess {
        let kernel = try await KernelProcess(arguments)
        try await kernel.load("calculator")
        try await kernel.load("echo", as: "target")
        try await kernel.load("capsprobe", as: "probe", grants: ["infer", "tool:*", "send:*"])
        return kernel
    }

    private func quota(_ kernel: KernelProcess, _ name: String, _ key: String) async throws -> QuotaInfo {
        try #require(try await kernel.client.quotas(of: name).quotas.first { $0.key == key })
    }

    @Test func toolCallsPastTheRateWaitThenAreRefused() async throws {
        let kernel = try await kernel()
        defer { kernel.stop() }
        _ = try await kernel.client.setQuotas(of: "probe", ["tool_calls_per_minute": "2", "quota_wait_ms": "100"])
        let add = #"tool calculator.add {"a": 1, "b": 2}"#
        #expect(try await kernel.ask("probe", add) == "AOS_OK|3")
        #expect(try await kernel.ask("probe", add) == "AOS_OK|3")
        // The next call would wait about 30 s for budget, past quota_wait_ms.
        #expect(try await kernel.ask("probe", add) == "AOS_EQUOTA")
        let rate = try await quota(kernel, "probe", "tool_calls_per_minute")
        #expect(rate.limit == 2 && rate.use == 2 && rate.refusals == 1)
        #expect(try await kernel.client.tools(matching: "calculator.add").first?.calls == 2)
        let audit = try await kernel.client.audit(agent: "probe")
        #expect(audit.contains { $0.quota == "tool_calls_per_minute" && $0.decision == "deny" })
        // Raising the rate lets calls through again at once; the other agents never noticed.
        _ = try await kernel.client.setQuotas(of: "probe", ["tool_calls_per_minute": "unlimited"])
        #expect(try await kernel.ask("probe", add) == "AOS_OK|3")
        try await kernel.expectHealthy()
    }

    @Test func aCallWithinTheWaitLimitWaitsForBudgetInsteadOfFailing() async throws {
        let kernel = try await kernel()
        defer { kernel.stop() }
        // 600 a minute: a burst of 600, then one every 100 ms.
        _ = try await kernel.client.setQuotas(of: "probe", ["tool_calls_per_minute": "600", "quota_wait_ms": "5000"])
        let add = #"tool calculator.add {"a": 1, "b": 2}"#
        for _ in 0..<601 { #expect(try await kernel.ask("probe", add) == "AOS_OK|3") }
        let rate = try await quota(kernel, "probe", "tool_calls_per_minute")
        #expect(rate.use == 601 && rate.refusals == 0)
    }

    @Test func messagesOverEitherSidesSizeQuotaAreTooBig() async throws {
        let kernel = try await kernel()
        defer { kernel.stop() }
        _ = try await kernel.client.setQuotas(of: "probe", ["message_bytes": "32"])
        #expect(try await kernel.ask("probe", "sendn target 32") == "AOS_OK")
        #expect(try await kernel.ask("probe", "sendn target 33") == "AOS_ETOOBIG")
        // What the probe receives counts too: this command is 33 bytes.
        await expectAPIError("too_big", status: 413) {
            try await kernel.client.send("probe", SendRequest(text: "call target 123456789012345678901", wait: true, timeoutMs: 1000))
        }
        _ = try await kernel.client.setQuotas(of: "target", ["message_bytes": "2"])
        #expect(try await kernel.ask("probe", "send target") == "AOS_ETOOBIG")  // "ping" is 4 bytes
        let message = await expectAPIError("too_big", status: 413) {
            try await kernel.client.send("target", SendRequest(text: "hello", wait: true, timeoutMs: 1000))
        }
        #expect(message.contains("target's message_bytes quota (2)"), "\(message)")
        #expect(try await quota(kernel, "probe", "message_bytes").refusals == 2)
        #expect(try await quota(kernel, "target", "message_bytes").refusals == 2)
    }

    @Test func mailboxDepthAndHandlerDeadlineApplyAtOnce() async throws {
        let kernel = try await kernel()
        defer { kernel.stop() }
        try await kernel.load("slow")
        _ = try await kernel.client.setQuotas(of: "target", ["mailbox_depth": "5"])
        #expect(try await kernel.client.instance("target").mailboxLimit == 5)
        #expect(try await quota(kernel, "target", "mailbox_depth").limit == 5)

        _ = try await kernel.client.setQuotas(of: "slow", ["handler_deadline_ms": "300"])
        let reply = Task { try await kernel.client.send("slow", SendRequest(text: "1500", wait: true, timeoutMs: 10_000)) }
        #expect(try await kernel.eventually(5) { try await kernel.client.instance("slow").state == "hung" })
        #expect(try await reply.value.reply == "done")
        #expect(try await kernel.eventually(5) { try await kernel.client.instance("slow").state == "running" })
    }

    @Test func psShowsCPUTimeGrantsAndQuotas() async throws {
        let kernel = try await kernel()
        defer { kernel.stop() }
        for _ in 0..<200 { _ = try await kernel.ask("probe", "send target") }
        let probe = try await kernel.client.instance("probe")
        #expect((probe.cpuSeconds ?? 0) > 0)
        #expect(probe.granted == ["infer", "tool:*", "send:*"])
        #expect(probe.quotas?.map(\.key).contains("tokens_per_minute") == true)
        let table = try kernel.agentctl("quota", "probe")
        #expect(table.status == 0 && table.stdout.contains("tokens_per_minute"), "\(table.stdout)\(table.stderr)")
    }

    @Test func policyQuotasApplyAtLoadOverTheDefaults() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try """
            defaults:
              quotas: {mailbox_depth: 64, tool_calls_per_minute: 1000}
            plugins:
              probe:
                grants: ["tool:*"]
                quotas: {tool_calls_per_minute: 10}
            """.write(toFile: kernel.home.policyPath, atomically: true, encoding: .utf8)
        try await kernel.load("capsprobe", as: "probe")
        try await kernel.load("echo")
        #expect(try await quota(kernel, "probe", "tool_calls_per_minute").limit == 10)
        #expect(try await quota(kernel, "probe", "mailbox_depth").limit == 64)
        #expect(try await quota(kernel, "echo", "tool_calls_per_minute").limit == 1000)
        #expect(try await kernel.client.instance("echo").mailboxLimit == 64)
    }
}

/// The inference quotas with the real model: a token budget refuses, a
/// token rate throttles and then refuses once the wait would pass quota_wait_ms.
@Suite(.serialized) struct InferenceQuotaModelTests {
    @Test func tokenBudgetAndRate() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        try await kernel.load("capsprobe", as: "spender", grants: ["infer"])
        try await kernel.load("capsprobe", as: "throttled", grants: ["infer"])
        try await kernel.load("capsprobe", as: "bystander", grants: ["infer"])

        _ = try await kernel.client.setQuotas(of: "spender", ["token_budget": "1"])
        #expect(try await kernel.ask("spender", "infer", timeoutMs: 60_000) == "AOS_OK")  // admitted with 0 used
        #expect(try await kernel.ask("spender", "infer", timeoutMs: 60_000) == "AOS_EQUOTA")
        let budget = try #require(try await kernel.client.quotas(of: "spender").quotas.first { $0.key == "token_budget" })
        #expect((budget.use ?? 0) > 1 && budget.refusals == 1)

        // A burst of one token: the first request runs into debt, the next waits for a
        // refill minutes away, past quota_wait_ms, and is refused.
        _ = try await kernel.client.setQuotas(of: "throttled", ["tokens_per_minute": "1", "quota_wait_ms": "200"])
        #expect(try await kernel.ask("throttled", "infer", timeoutMs: 60_000) == "AOS_OK")
        #expect(try await kernel.ask("throttled", "stream", timeoutMs: 60_000) == "AOS_EQUOTA")
        #expect(try await kernel.ask("bystander", "infer", timeoutMs: 60_000) == "AOS_OK")
        let rate = try #require(try await kernel.client.quotas(of: "throttled").quotas.first { $0.key == "tokens_per_minute" })
        #expect((rate.use ?? 0) > 1 && rate.refusals == 1, "\(rate)")
        let audit = try await kernel.client.audit(agent: "throttled")
        #expect(audit.contains { $0.quota == "tokens_per_minute" }, "\(audit)")
    }
}
