import ControlAPI
import Foundation
import Testing

/// The embedded engine's prefix cache with the real model: what it reuses,
/// what it computes, and that the output is the same with it off.
@Suite(.serialized) struct PrefixCacheTests {
    /// Two slots, so which slot a request takes is known.
    static let engine = ["--model", Paths.model, "--slots", "2", "--ctx", "4096", "--threads", "2"]

    static let system = """
        You are the help desk of a hardware shop. Answer in one short sentence. \
        Prices: the A-200 drill costs 229 euros, the B-100 saw 149 euros, the C-5 \
        sander 89 euros. Opening hours: Monday to Saturday, 9 to 18. Returns within \
        30 days with the receipt. Delivery in 2 to 4 working days.
        """

    private func request(_ prompt: String, system: String = Self.system, maxTokens: Int = 16) -> InferRequest {
        var request = InferRequest(prompt: prompt)
        request.system = system
        request.maxTokens = maxTokens
        request.temperature = 0
        return request
    }

    /// A kernel without the prefix cache that prefills at most `batch` tokens
    /// per step: it splits a prompt where the cache would.
    private func coldKernel(batch: Int) async throws -> KernelProcess {
        try await KernelProcess(Self.engine + ["--no-prefix-cache", "--batch", "\(batch)"])
    }

    /// The same prompt again computes only its last token, and answers as a
    /// cold kernel does when it splits the prompt there too.
    @Test func theSamePromptAgainComputesOnlyItsLastToken() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        let first = try await kernel.client.infer(request("How much is the A-200?"))
        let before = try await kernel.client.engine()
        let second = try await kernel.client.infer(request("How much is the A-200?"))
        let after = try await kernel.client.engine()
        let cached = second.usage.promptTokensDetails.cachedTokens
        #expect(first.usage.promptTokensDetails.cachedTokens == 0)
        #expect(cached == second.usage.promptTokens - 1)
        #expect(after.promptTokens - before.promptTokens == 1)
        #expect(after.cachedPromptTokens - before.cachedPromptTokens == UInt64(cached))

        let cold = try await coldKernel(batch: cached)
        defer { _ = cold.stop() }
        let reference = try await cold.client.infer(request("How much is the A-200?"))
        #expect(reference.usage.promptTokensDetails.cachedTokens == 0)
        #expect(second.text == reference.text)
    }

    @Test func aSharedSystemPromptIsComputedOnceAndTheRestIsAccounted() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        let first = try await kernel.client.infer(request("How much is the A-200?"))
        let before = try await kernel.client.engine()
        let answer = try await kernel.client.infer(request("When are you open?"))
        let after = try await kernel.client.engine()
        let cached = answer.usage.promptTokensDetails.cachedTokens
        // Everything up to the user's question is shared: the system prompt and the template around it.
        #expect(cached >= first.usage.promptTokens - 20 && cached < answer.usage.promptTokens - 5, "\(cached) of \(answer.usage.promptTokens)")
        #expect(after.promptTokens - before.promptTokens == UInt64(answer.usage.promptTokens - cached))
        // The request's trace and the engine's metrics say the same.
        let trace = try await kernel.client.trace(answer.requestId)
        #expect(trace.events.contains { $0.event == "scheduled" && $0.detail == "\(answer.usage.promptTokens) prompt tokens, \(cached) cached" })
        let metrics = try await kernel.client.raw(.GET, "/metrics")
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains(#"agentos_engine_prompt_tokens_total{source="cache"} \#(after.cachedPromptTokens)"#), "\(text)")
    }

    /// Requests arriving while another with the same system prompt is still
    /// generating copy that slot's KV, and answer as a cold kernel does when
    /// it splits their prompts where the cache did.
    @Test func aPrefixInABusySlotIsCopiedAndAnswersAsAColdKernel() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        var long = request("Spell the alphabet.", maxTokens: 96)
        long.grammar = "root ::= [a-z]{400}"  // cannot end before max_tokens
        var events = kernel.client.inferStream(long).makeAsyncIterator()
        while let event = try await events.next(), event.piece == nil {}
        let questions = ["When are you open?", "How much is the C-5?", "Can I return a drill?"]
        var answers: [InferResult] = []
        for question in questions { answers.append(try await kernel.client.infer(request(question))) }
        while try await events.next() != nil {}
        #expect(try await kernel.client.engine().prefixCopies >= 1)
        let cached = Set(answers.map(\.usage.promptTokensDetails.cachedTokens))
        #expect(cached.count == 1 && cached.first! > 50, "\(answers.map(\.usage))")

        let cold = try await coldKernel(batch: cached.first!)
        defer { _ = cold.stop() }
        for (question, answer) in zip(questions, answers) {
            let reference = try await cold.client.infer(request(question))
            #expect(reference.text == answer.text, "\(question)")
        }
        let coldEngine = try await cold.client.engine()
        #expect(coldEngine.cachedPromptTokens == 0 && coldEngine.prefixCopies == 0)
    }

    /// Requests that arrive while another computes their shared system prompt
    /// wait for it and copy it rather than compute it beside it: the prompt
    /// is computed once. (It takes a dozen 128-token steps, so the two later
    /// questions arrive while it is computed.) They account exactly as when
    /// they come after it and copy the finished prefix. Their texts are not
    /// compared: the first request decodes in the same ubatches as the
    /// others' prefill here and alone there, and llama.cpp's arithmetic
    /// depends on the batch (`aPrefixInABusySlotIsCopiedAndAnswersAsAColdKernel`
    /// compares texts where the split is the same).
    @Test func requestsArrivingTogetherComputeTheirSharedPrefixOnce() async throws {
        let engine = ["--model", Paths.model, "--slots", "4", "--ctx", "8192", "--threads", "2", "--batch", "128"]
        let system = "You are the help desk of a hardware shop. Answer in one short sentence. The catalog:\n"
            + (1...60).map { "Item \($0): the T-\($0 * 7) tool, \($0 * 3 + 19) euros, delivered in \($0 % 4 + 2) days." }.joined(separator: "\n")
        let questions = ["How much is item 3?", "Which item is delivered fastest?", "Is item 12 cheaper than item 14?"]
        /// The answers, and the prompt tokens the engine computed for them.
        func answers(_ kernel: KernelProcess, together: Bool) async throws -> (results: [InferResult], computed: UInt64) {
            let before = try await kernel.client.engine()
            let first = Task { try await kernel.client.infer(self.request(questions[0], system: system)) }
            if together {
                while try await kernel.client.engine().activeSequences == 0 { try await Task.sleep(for: .milliseconds(2)) }
            } else {
                _ = try await first.value
            }
            async let second = kernel.client.infer(request(questions[1], system: system))
            async let third = kernel.client.infer(request(questions[2], system: system))
            let results = try await [first.value, second, third]
            return (results, try await kernel.client.engine().promptTokens - before.promptTokens)
        }
        let kernel = try await KernelProcess(engine)
        defer { _ = kernel.stop() }
        let together = try await answers(kernel, together: true)
        let prompts = together.results.map(\.usage.promptTokens)
        let cached = together.results.map(\.usage.promptTokensDetails.cachedTokens)
        #expect(prompts.allSatisfy { $0 > 1200 }, "\(prompts)")
        // The first computed the shared prefix; the other two reused all of it.
        #expect(cached[0] == 0 && cached[1] == cached[2] && cached[1] > 1200, "\(cached)")
        #expect(together.computed == UInt64(prompts.reduce(0, +) - cached.reduce(0, +)))

        let oneByOne = try await KernelProcess(engine)
        defer { _ = oneByOne.stop() }
        let reference = try await answers(oneByOne, together: false)
        #expect(reference.results.map(\.usage.promptTokensDetails.cachedTokens) == cached)
        #expect(reference.computed == together.computed)
    }

    /// A request waiting for a prefix whose computer is cancelled stops
    /// waiting: it takes what was computed so far and computes the rest.
    @Test func aWaitingRequestWhoseSourceIsCancelledComputesTheRest() async throws {
        let kernel = try await KernelProcess(["--model", Paths.model, "--slots", "3", "--ctx", "8192", "--threads", "2", "--batch", "64"])
        defer { _ = kernel.stop() }
        let system = "You are the help desk of a hardware shop. Answer in one short sentence. The catalog:\n"
            + (1...60).map { "Item \($0): the T-\($0 * 9) tool, \($0 * 5 + 11) euros, delivered in \($0 % 3 + 2) days." }.joined(separator: "\n")
        var events = kernel.client.inferStream(request("How much is item 7?", system: system)).makeAsyncIterator()
        let source = try #require(try await events.next()?.started)
        while try await kernel.client.engine().activeSequences == 0 { try await Task.sleep(for: .milliseconds(2)) }
        let waiting = Task { try await kernel.client.infer(self.request("Which item is the cheapest?", system: system)) }
        while try await kernel.client.engine().activeSequences < 2 { try await Task.sleep(for: .milliseconds(2)) }
        try await kernel.client.cancelInference(source)
        let answer = try await waiting.value
        #expect(answer.finishReason != "error" && !answer.text.isEmpty, "\(answer)")
        #expect(answer.usage.promptTokensDetails.cachedTokens < answer.usage.promptTokens - 5, "\(answer.usage)")
        try await kernel.expectHealthy()
    }

    /// A chat's next turn extends the last one: only what was added is computed.
    @Test func aChatsNextTurnComputesOnlyWhatWasAdded() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        var turn = request("How much is the A-200?")
        turn.prompt = nil
        turn.system = nil
        var messages = [InferRequest.Message(role: "system", content: Self.system), .init(role: "user", content: "How much is the A-200?")]
        var previous: InferResult?
        for question in ["And the B-100?", "When can it be delivered?", "Thanks!"] {
            turn.messages = messages
            let answer = try await kernel.client.infer(turn)
            if let previous {
                // The earlier turns render the same text each time, so all of the last prompt is reused.
                #expect(answer.usage.promptTokensDetails.cachedTokens >= previous.usage.promptTokens, "\(answer.usage) after \(previous.usage)")
            }
            messages += [.init(role: "assistant", content: answer.text), .init(role: "user", content: question)]
            previous = answer
        }
    }

    /// The tool loop's second turn reuses the first turn's prompt.
    @Test func theToolLoopsSecondTurnReusesTheFirst() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        try await kernel.load("calculator")
        var ask = InferRequest(prompt: "What is 12.5 times 4?")
        ask.tools = ["calculator.*"]
        ask.toolChoice = "required"
        let result = try await kernel.client.infer(ask)
        let turns = try await kernel.client.trace(result.requestId).events.filter { $0.event == "scheduled" }.map(Self.tokens)
        #expect(turns.count == 2, "\(turns)")
        guard turns.count == 2 else { return }
        #expect(turns[1].cached >= turns[0].prompt - 1 && turns[1].cached < turns[1].prompt, "\(turns)")
        #expect(result.usage.promptTokensDetails.cachedTokens == turns[0].cached + turns[1].cached)
    }

    /// An agent sees its cached tokens in the result (ABI 1.5); a plugin built
    /// against ABI 1.4 passes a smaller result, and nothing past it is written.
    @Test func anAgentsResultCarriesItsCachedTokens() async throws {
        let kernel = try await KernelProcess(Self.engine)
        defer { _ = kernel.stop() }
        try await kernel.load("inferer", grants: ["infer"])
        let again = InferenceTests.Answer(try await kernel.ask("inferer", "again 8 What is the capital of France?", timeoutMs: 60_000))
        #expect(again.ok && again.extra == "cached=\(again.promptTokens - 1),first=0", "\(again.extra) of \(again.promptTokens)")
        let old = InferenceTests.Answer(try await kernel.ask("inferer", "old 8 What is the capital of France?", timeoutMs: 60_000))
        #expect(old.ok && old.extra == "canary=77", "\(old.extra)")
    }

    /// "N prompt tokens, M cached" of a trace's `scheduled` event.
    private static func tokens(_ event: RequestTraceInfo.Event) -> (prompt: Int, cached: Int) {
        let numbers = event.detail.split { !$0.isNumber }.compactMap { Int($0) }
        return (numbers.first ?? -1, numbers.dropFirst().first ?? -1)
    }
}
