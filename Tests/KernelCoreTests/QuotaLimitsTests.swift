import Testing
@testable import KernelCore

/// Quota limits as users type them: keys, values, suffixes and every bad input.
@Suite struct QuotaLimitsTests {
    private func error(setting key: String, to value: String) -> KernelError? {
        var limits = QuotaLimits()
        do {
            try limits.set(key, value)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyKeyParsesAndReadsBack() throws {
        #expect(QuotaLimits.keys == [
            "tokens_per_minute", "token_budget", "concurrent_inference", "tool_calls_per_minute",
            "mailbox_depth", "message_bytes", "handler_deadline_ms", "quota_wait_ms", "kv_keys", "kv_bytes",
            "memory_bytes", "cpu_seconds",
        ])
        var limits = QuotaLimits()
        for (index, key) in QuotaLimits.keys.enumerated() { try limits.set(key, "\(index + 1)") }
        #expect(limits == QuotaLimits(
            tokensPerMinute: 1, tokenBudget: 2, concurrentInference: 3, toolCallsPerMinute: 4,
            mailboxDepth: 5, messageBytes: 6, handlerDeadlineMs: 7, quotaWaitMs: 8, kvKeys: 9, kvBytes: 10,
            memoryBytes: 11, cpuSeconds: 12))
        for (index, key) in QuotaLimits.keys.enumerated() { #expect(limits.value(key) == index + 1) }
        #expect(limits.entries.map(\.key) == QuotaLimits.keys)
        #expect(limits.entries.map(\.value) == (1...12).map { Optional($0) })
        #expect(limits.value("no_such_key") == nil)
    }

    @Test func kAndMSuffixesMultiply() throws {
        var limits = QuotaLimits()
        try limits.set("tokens_per_minute", "6k")
        try limits.set("token_budget", "2M")
        try limits.set("message_bytes", "64M")
        #expect(limits.tokensPerMinute == 6000)
        #expect(limits.tokenBudget == 2_000_000)
        #expect(limits.messageBytes == 64_000_000)
    }

    @Test func unlimitedClearsALimit() throws {
        var limits = QuotaLimits(mailboxDepth: 8)
        try limits.set("mailbox_depth", "unlimited")
        #expect(limits.mailboxDepth == nil)
        #expect(limits == QuotaLimits())
    }

    @Test func anUnknownKeyIsRefusedWithTheValidKeys() {
        let error = error(setting: "tokens_per_hour", to: "5")
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "unknown quota `tokens_per_hour`; the quotas are tokens_per_minute, token_budget, "
            + "concurrent_inference, tool_calls_per_minute, mailbox_depth, message_bytes, handler_deadline_ms, quota_wait_ms, kv_keys, kv_bytes, "
            + "memory_bytes, cpu_seconds")
    }

    @Test(arguments: ["abc", "", "1.5", "5K", "5m", "k", "+5", " 5", "0x10", "5kk", "Unlimited"])
    func aValueThatIsNotANumberIsRefused(_ value: String) {
        let error = error(setting: "token_budget", to: value)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "token_budget=\(value) is not a number; use a positive integer, "
            + "optionally with k (×1000) or M (×1000000), or `unlimited`")
    }

    @Test(arguments: ["0", "0k", "000"])
    func zeroIsRefused(_ value: String) {
        let error = error(setting: "mailbox_depth", to: value)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "mailbox_depth=\(value) is zero; use a positive number, or `unlimited` for no limit")
    }

    @Test(arguments: ["-5", "-1k"])
    func aNegativeValueIsRefused(_ value: String) {
        let error = error(setting: "concurrent_inference", to: value)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "concurrent_inference=\(value) is negative; use a positive number, or `unlimited` for no limit")
    }

    @Test(arguments: ["99999999999999999999999", "9223372036854775807k", "10000000000000M"])
    func aValueThatOverflowsIsRefused(_ value: String) {
        let error = error(setting: "token_budget", to: value)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "token_budget=\(value) is too large; token_budget is at most 1000000000000")
    }

    @Test(arguments: [
        ("mailbox_depth", "1000001", 1_000_000), ("message_bytes", "67108865", 64 << 20),
        ("handler_deadline_ms", "86400001", 86_400_000), ("quota_wait_ms", "100000k", 86_400_000),
        ("concurrent_inference", "65537", 65_536), ("tokens_per_minute", "2000M", 1_000_000_000),
        ("tool_calls_per_minute", "2M", 1_000_000),
    ])
    func aValueAboveTheKeysMaximumIsRefused(_ key: String, _ value: String, _ maximum: Int) throws {
        let error = error(setting: key, to: value)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "\(key)=\(value) is too large; \(key) is at most \(maximum)")
        var limits = QuotaLimits()
        try limits.set(key, "\(maximum)")
        #expect(limits.value(key) == maximum)
    }

    @Test func aRefusedValueLeavesTheLimitAsItWas() {
        var limits = QuotaLimits(tokenBudget: 500)
        #expect(throws: KernelError.self) { try limits.set("token_budget", "0") }
        #expect(limits.tokenBudget == 500)
    }

    @Test func mergedTakesItsOwnLimitsOverTheBase() {
        let defaults = QuotaLimits(tokensPerMinute: 6000, tokenBudget: 100_000, mailboxDepth: 64)
        let own = QuotaLimits(tokensPerMinute: 600, concurrentInference: 2)
        #expect(own.merged(over: defaults) == QuotaLimits(
            tokensPerMinute: 600, tokenBudget: 100_000, concurrentInference: 2, mailboxDepth: 64))
        #expect(QuotaLimits().merged(over: defaults) == defaults)
        #expect(own.merged(over: QuotaLimits()) == own)
    }

    @Test func inferenceCarriesTheSchedulersLimits() {
        let limits = QuotaLimits(tokensPerMinute: 6000, tokenBudget: 1000, concurrentInference: 3, mailboxDepth: 5)
        #expect(limits.inference == InferenceQuota(
            tokensPerMinute: 6000, tokenBudget: 1000, concurrentRequests: 3, maxWaitNanos: 60_000_000_000))
        #expect(QuotaLimits(quotaWaitMs: 250).inference.maxWaitNanos == 250_000_000)
        #expect(QuotaLimits().inference == InferenceQuota())
    }
}
