import ControlAPI
import Foundation
import Testing

/// KV state in host memory with the real model: prefixes a slot gave up come
/// back from there (`--kv-cache-budget`), and a long request is paused for a
/// waiting agent and resumes with the same output (`--preempt`).
@Suite(.serialized) struct HostKVCacheTests {
    /// One slot, so each new prompt overwrites the last one's KV.
    static let engine = ["--model", Paths.model, "--slots", "1", "--ctx", "2048", "--threads", "2"]

    /// A system prompt of about 90 tokens per shop, each starting differently.
    static func system(_ shop: String) -> String {
        """
        \(shop): you are the help desk of this hardware shop. Answer in one short sentence. \
        Prices: the A-200 drill costs 229 euros, the B-100 saw 149 euros, the C-5 \
        sander 89 euros. Opening hours: Monday to Saturday, 9 to 18. Returns within \
        30 days with the receipt. Delivery in 2 to 4 working days.
        """
    }

    private func request(_ shop: String, _ prompt: String = "How much is the A-200?", agent: String? = nil, maxTokens: Int = 16) -> InferRequest {
        var request = InferRequest(prompt: prompt)
        request.system = Self.system(shop)
        request.agent = agent
        request.maxTokens = maxTokens
        request.temperature = 0
        return request
    }

    /// A prompt whose prefix another prompt pushed out of the only slot is
    /// restored from host memory: it computes only its last token, and answers
    /// as a cold kernel does when it splits the prompt there too.
    @Test func aPrefixPushedOutOfItsSlotIsRestoredFromHostMemory() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        _ = try await kernel.client.infer(request("Mercer Tools"))
        _ = try await kernel.client.infer(request("Oakridge Supply"))
        let saved = try await kernel.client.engine()
        #expect(saved.hostCacheEntries == 1 && saved.hostCacheBytes > 0 && saved.hostCacheRestores == 0, "\(saved)")
        let again = try await kernel.client.infer(request("Mercer Tools"))
        let restored = try await kernel.client.engine()
        let cached = again.usage.promptTokensDetails.cachedTokens
        #expect(cached == again.usage.promptTokens - 1)
        #expect(restored.hostCacheRestores == 1)
        #expect(restored.promptTokens - saved.promptTokens == 1)
        // The second shop's prefix went to host memory in turn.
        #expect(restored.hostCacheEntries == 2)

        let cold = try await KernelProcess(Self.engine + ["--no-prefix-cache", "--batch", "\(cached)"])
        defer { _ = cold.stop() }
        #expect(try await cold.client.infer(request("Mercer Tools")).text == again.text)
    }

    /// A budget that holds one saved prefix evicts the least recently used
    /// for the next; a prompt too large for it is computed, never refused.
    @Test func aSmallBudgetEvictsAndATooLargePromptStillRuns() async throws {
        let kernel = try await KernelProcess(Self.engine + ["--kv-cache-budget", "3M"])
        defer { _ = kernel.stop() }
        for shop in ["Mercer Tools", "Oakridge Supply", "Brightline Hardware", "Mercer Tools"] {
            _ = try await kernel.client.infer(request(shop))
        }
        let engine = try await kernel.client.engine()
        #expect(engine.hostCacheBudget == 3 << 20)
        #expect(engine.hostCacheEntries == 1 && engine.hostCacheBytes <= 3 << 20, "\(engine)")
        #expect(engine.hostCacheEvictions >= 1 && engine.hostCacheRestores == 0, "\(engine)")

        let long = String(repeating: "Please list every tool you sell, with its price and its warranty. ", count: 20)
        let answer = try await kernel.client.infer(request("Mercer Tools", long))
        #expect(answer.usage.promptTokens > 300 && !answer.text.isEmpty)
        _ = try await kernel.client.infer(request("Oakridge Supply"))
        #expect(try await kernel.client.engine().hostCacheBytes <= 3 << 20)
    }

    /// `--kv-cache-budget 0` turns the prefix cache off: nothing is reused or kept.
    @Test func aZeroBudgetTurnsThePrefixCacheOff() async throws {
        let kernel = try await KernelProcess(Self.engine + ["--kv-cache-budget", "0"])
        defer { _ = kernel.stop() }
        let first = try await kernel.client.infer(request("Mercer Tools"))
        _ = try await kernel.client.infer(request("Oakridge Supply"))
        let second = try await kernel.client.infer(request("Mercer Tools"))
        #expect(second.usage.promptTokensDetails.cachedTokens == 0 && second.text == first.text)
        let engine = try await kernel.client.engine()
        #expect(engine.settings["prefix_cache"] == "off" && engine.hostCacheBudget == 0)
        #expect(engine.cachedPromptTokens == 0 && engine.hostCacheEntries == 0)
    }

    @Test func badSettingsAreRefusedWithTheFlagsName() throws {
        let home = KernelProcess.newRoot()
        func refusal(_ arguments: [String]) throws -> CommandResult {
            try CommandResult.run(Paths.agentosd, ["--no-plugins-dir"] + Self.engine + arguments, environment: ["AGENTOS_HOME": home])
        }
        for budget in ["-1", "12X", "M", "99999999999G", ""] {
            let result = try refusal(["--kv-cache-budget", budget])
            #expect(result.status != 0 && result.stderr.contains("--kv-cache-budget"), "\(budget): \(result.stderr)")
        }
        for (arguments, message) in [
            (["--kv-type", "q8_0", "--flash-attn", "off"], "needs flash attention"), (["--kv-type", "f32"], "--kv-type"),
            (["--preempt", "maybe"], "--preempt"),
        ] {
            let result = try refusal(arguments)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    /// `agentctl engine` shows the settings llama.cpp runs with.
    @Test func theEngineShowsItsSettings() async throws {
        let kernel = try await KernelProcess(Self.engine + ["--kv-type", "q8_0"])
        defer { _ = kernel.stop() }
        let engine = try await kernel.client.engine()
        #expect(engine.settings["flash_attn"] == "on" && engine.settings["kv_type"] == "q8_0")
        #expect(engine.settings["ubatch"] == "512" && engine.settings["threads"] == "2" && engine.settings["preempt"] == "on")
        _ = try await kernel.client.infer(request("Mercer Tools"))
        let table = try kernel.agentctl("engine").stdout
        #expect(table.contains("flash_attn=on") && table.contains("kv_type=q8_0") && table.contains("HOST CACHE"), "\(table)")
    }

    /// A long grammar-constrained request holding the only slot is paused for
    /// another agent's short one, which answers first; it then resumes and
    /// ends with the text it writes unpaused (grammar state and KV restored).
    @Test func aLongRequestIsPausedForAWaitingAgentAndEndsAsUnpaused() async throws {
        var long = request("Mercer Tools", "Spell the alphabet.", agent: "flood", maxTokens: 160)
        long.grammar = "root ::= [a-z ]{2000}"  // cannot end before max_tokens
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        var events = kernel.client.inferStream(long).makeAsyncIterator()
        while let event = try await events.next(), event.piece == nil {}
        let short = try await kernel.client.infer(request("Oakridge Supply", agent: "quiet", maxTokens: 4))
        var paused = ""
        var pausedResult: InferResult?
        while let event = try await events.next() {
            paused += event.piece ?? ""
            if let result = event.result { pausedResult = result }
        }
        let engine = try await kernel.client.engine()
        #expect(engine.preemptions == 1 && engine.pausedSequences == 0, "\(engine)")
        #expect(short.usage.completionTokens > 0)
        let result = try #require(pausedResult)
        #expect(result.usage.completionTokens == 160)

        let unpaused = try await KernelProcess(Self.engine + ["--preempt", "off"])
        defer { _ = unpaused.stop() }
        let reference = try await unpaused.client.infer(long)
        #expect(result.text == reference.text)
        #expect(try await unpaused.client.engine().preemptions == 0)
    }

    /// Cancelling a paused request ends it at once and frees its host memory.
    @Test func cancellingAPausedRequestFreesItsMemory() async throws {
        var long = request("Mercer Tools", "Spell the alphabet.", agent: "flood", maxTokens: 1000)
        long.grammar = "root ::= [a-z]{2000}"
        var slow = request("Oakridge Supply", agent: "quiet", maxTokens: 400)
        slow.grammar = "root ::= [a-z]{2000}"
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        var events = kernel.client.inferStream(long).makeAsyncIterator()
        var longID: UInt64?
        while let event = try await events.next(), event.piece == nil { longID = event.started ?? longID }
        async let quiet = kernel.client.infer(slow)
        #expect(try await kernel.eventually(60) { try await kernel.client.engine().pausedSequences == 1 })
        #expect(try await kernel.client.engine().hostCacheBytes > 0)
        try await kernel.client.cancelInference(try #require(longID))
        #expect(try await kernel.eventually { try await kernel.client.engine().pausedSequences == 0 })
        #expect(try await kernel.client.engine().hostCacheBytes == 0)
        _ = try await quiet
    }
}
