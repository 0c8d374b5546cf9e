import ControlAPI
import Foundation

/// The inference rows: the kernel's embedded llama.cpp engine against
/// llama.cpp's own tools on the same model and threads. Where a row has a
/// baseline, the two are measured alternately, `rounds` times each, and the
/// medians compared: one works while the other idles, so a change in the
/// machine's speed during the run touches both alike.
struct InferenceBench {
    let agentosd: String
    let tools: LlamaTools
    /// Runs per figure; the median is reported.
    let runs: Int

    /// Rounds of a row measured against its baseline: `runs`, at least 5.
    private var rounds: Int { max(runs, 5) }

    func run(into table: inout ResultTable) async throws {
        try await singleAgent(into: &table)
        for agents in [4, 8, 16] { try await aggregateDecode(agents: agents, into: &table) }
        try await versusServer(into: &table)
        try await chatTurns(into: &table)
        try await shortRequestLatency(into: &table)
    }

    /// The kernel's flags for `slots` sequences in `context` tokens under `policy`.
    private func kernelArguments(slots: Int, context: Int, policy: String = "fair") -> [String] {
        ["--model", tools.model, "--threads", "\(tools.threads)", "--slots", "\(slots)", "--ctx", "\(context)", "--policy", policy]
    }

    // MARK: One agent

    /// Decode and prefill speed of one request alone, on the kernel's default
    /// 8 slots and 16384 tokens, vs llama-bench tg128 and pp512. Without the
    /// prefix cache: the same prompt each run would be served from it, and
    /// llama-bench computes every token.
    private func singleAgent(into table: inout ResultTable) async throws {
        let arguments = kernelArguments(slots: 8, context: 16384) + ["--no-prefix-cache"]
        let (figures, depth) = try await BenchKernel.with(agentosd: agentosd, arguments) { kernel in
            let depth = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 8), on: kernel.home).usage.promptTokens
            let settings = try await kernel.client.engine().settings
            var figures = (decode: [Double](), prefill: [Double](), tg128: [Double](), pp512: [Double]())
            for _ in 0..<rounds {
                // Decode: the tokens after the first over the time after the first.
                let usage = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 128), on: kernel.home).usage
                Prompts.checkLength(usage, expected: 128, what: "decode, 1 agent")
                figures.decode.append(Double(usage.completionTokens - 1) / ((usage.totalMs - usage.timeToFirstTokenMs) / 1000))
                // Prefill: the prompt's tokens over the time from leaving the queue to the first token
                // (the whole prompt in steps of the engine's prefill chunk, plus one sampling).
                let first = try await HTTPLoad.infer(Prompts.request(Prompts.long, agent: "agent-1", maxTokens: 1), on: kernel.home).usage
                if abs(first.promptTokens - 512) > 32 {
                    Prompts.warn("prefill, 1 agent: the prompt is \(first.promptTokens) tokens, not about 512")
                }
                figures.prefill.append(Double(first.promptTokens) / ((first.timeToFirstTokenMs - first.queueMs) / 1000))
                // Decoding starts after the prompt: llama-bench starts at the same depth.
                figures.tg128.append(try await tools.bench(prompt: 0, generate: 128, depth: depth, repetitions: 1, settings: settings))
                figures.pp512.append(try await tools.bench(prompt: 512, generate: 0, repetitions: 1, settings: settings))
            }
            return (figures, depth)
        }
        table.add("decode, 1 agent", agentos: figures.decode.median, baseline: figures.tg128.median, unit: .tokensPerSecond,
                  baselineIs: "llama-bench tg128 @ d\(depth), same settings", goal: "≥ 0.97×", lowerIsBetter: false)
        table.add("prefill, 1 agent", agentos: figures.prefill.median, baseline: figures.pp512.median, unit: .tokensPerSecond,
                  baselineIs: "llama-bench pp512, same settings", goal: "≥ 0.97×", lowerIsBetter: false)
    }

    // MARK: N agents

    /// Aggregate decode speed of `agents` agents generating together, vs
    /// llama-batched-bench's S_TG for as many sequences of 128 + 128 tokens
    /// with the kernel's settings.
    private func aggregateDecode(agents: Int, into table: inout ResultTable) async throws {
        let context = agents * 512
        let (agentos, baseline) = try await BenchKernel.with(agentosd: agentosd, kernelArguments(slots: agents, context: context)) { kernel in
            _ = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 8), on: kernel.home)
            let settings = try await kernel.client.engine().settings
            var figures: [Double] = []
            var baselines: [Double] = []
            for _ in 0..<rounds {
                let inferences = try await withThrowingTaskGroup(of: HTTPLoad.TimedInference.self) { group in
                    for agent in 1...agents {
                        group.addTask {
                            try await HTTPLoad.inferTimed(Prompts.request(Prompts.counted, agent: "agent-\(agent)", maxTokens: 128), on: kernel.home)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                figures.append(try Self.steadyDecodeRate(inferences, what: "aggregate decode, \(agents) agents"))
                baselines.append(try await tools.batchedDecode(parallel: agents, context: context, settings: settings))
            }
            return (figures.median, baselines.median)
        }
        table.add("aggregate decode, \(agents) agents", agentos: agentos, baseline: baseline, unit: .tokensPerSecond,
                  baselineIs: "llama-batched-bench S_TG, npp 128, ntg 128, npl \(agents), same settings", goal: "≥ 0.97×", lowerIsBetter: false)
    }

    /// Tokens per second while every sequence is generating: from the moment
    /// the last one got its first token to the moment the first one got its
    /// last, the pieces that arrived in between (one per token) over that time.
    /// llama-batched-bench's S_TG likewise times only steps where all decode.
    private static func steadyDecodeRate(_ inferences: [HTTPLoad.TimedInference], what: String) throws -> Double {
        for inference in inferences { Prompts.checkLength(inference.result.usage, expected: 128, what: what) }
        guard let allDecoding = inferences.compactMap(\.pieces.first).max(),
              let firstDone = inferences.compactMap(\.pieces.last).min(),
              inferences.allSatisfy({ !$0.pieces.isEmpty }), firstDone > allDecoding
        else { throw BenchError("\(what): the sequences never all generated at once") }
        let tokens = inferences.reduce(0) { sum, inference in
            sum + inference.pieces.count { $0 > allDecoding && $0 <= firstDone }
        }
        return Double(tokens) / (Double(firstDone - allDecoding) / 1e9)
    }

    // MARK: Against llama-server

    /// Generated tokens per second of 8 agents sharing a system prompt of
    /// about 1,000 tokens, each sending `requestsPerAgent` requests one after
    /// another, vs llama-server with 8 slots driven the same way. Each round
    /// has a system prompt of its own, so neither side starts with it cached:
    /// the kernel computes it once for all eight agents, llama-server once per slot.
    private func versusServer(into table: inout ResultTable) async throws {
        let agents = 8
        let requestsPerAgent = 2
        let context = 16384
        // Wall time from the first submission to the last completion; generated tokens summed.
        // Also the prompt tokens over all runs, and those served from a cache, to compare the two caches.
        typealias Counts = HTTPLoad.TokenCounts
        /// Generated tokens per second of the round with the system prompt of `run`, and its token counts.
        func measure(run: Int, _ send: @escaping @Sendable (_ agent: Int, _ system: String, _ prompt: String) async throws -> Counts) async throws -> (Double, Counts) {
            let system = Prompts.sharedSystem(run: run)
            let started = HTTPLoad.now()
            let counts = try await withThrowingTaskGroup(of: Counts.self) { group in
                for agent in 1...agents {
                    group.addTask {
                        var counts = Counts()
                        for request in 0..<requestsPerAgent {
                            counts = counts + (try await send(agent, system, Prompts.tagged(run: run, agent: agent, request: request)))
                        }
                        return counts
                    }
                }
                return try await group.reduce(Counts(), +)
            }
            if counts.completion < agents * requestsPerAgent * 120 {
                Prompts.warn("8 agents vs llama-server: \(counts.completion) tokens generated, not about \(agents * requestsPerAgent * 128)")
            }
            return (Double(counts.completion) / (Double(HTTPLoad.now() - started) / 1e9), counts)
        }
        let rounds = rounds
        let (agentos, kernelCounts, server, serverCounts) = try await BenchKernel.with(agentosd: agentosd, kernelArguments(slots: agents, context: context)) { kernel in
            try await tools.withServer(parallel: agents, context: context) { port in
                let home = kernel.home
                _ = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "agent-1", maxTokens: 8), on: home)
                _ = try await HTTPLoad.chatCompletion(port: port, system: Prompts.system, prompt: Prompts.count, maxTokens: 8, seed: 1)
                var kernelFigures: [Double] = [], serverFigures: [Double] = []
                var kernelCounts = Counts(), serverCounts = Counts()
                for run in 0..<rounds {
                    let (kernelFigure, kernelRound) = try await measure(run: run) { agent, system, prompt in
                        let usage = try await HTTPLoad.infer(Prompts.request(prompt, system: system, agent: "agent-\(agent)", maxTokens: 128), on: home).usage
                        return Counts(prompt: usage.promptTokens, cached: usage.promptTokensDetails.cachedTokens, completion: usage.completionTokens)
                    }
                    let (serverFigure, serverRound) = try await measure(run: run) { _, system, prompt in
                        try await HTTPLoad.chatCompletion(port: port, system: system, prompt: prompt, maxTokens: 128, seed: 1)
                    }
                    kernelFigures.append(kernelFigure)
                    serverFigures.append(serverFigure)
                    kernelCounts = kernelCounts + kernelRound
                    serverCounts = serverCounts + serverRound
                }
                return (kernelFigures.median, kernelCounts, serverFigures.median, serverCounts)
            }
        }
        table.add("8 agents sharing a 1,000-token system prompt vs llama-server", agentos: agentos, baseline: server, unit: .tokensPerSecond,
                  baselineIs: "llama-server -np 8 -cb, 8 HTTP clients (prompt tokens cached: kernel \(kernelCounts.cached) of \(kernelCounts.prompt), server \(serverCounts.cached) of \(serverCounts.prompt))",
                  goal: "≥ 1.2×", lowerIsBetter: false)
    }

    // MARK: A conversation

    /// Time to first token of a chat's 10th turn against its 1st: each turn
    /// sends the whole chat so far (as OpenAI clients do), and the prefix
    /// cache computes only what the turn added. Medians over `runs` chats,
    /// each with its own opening so no chat reuses another's.
    private func chatTurns(into table: inout ResultTable) async throws {
        let (first, tenth) = try await BenchKernel.with(agentosd: agentosd, kernelArguments(slots: 8, context: 16384)) { kernel in
            var firsts: [Double] = []
            var tenths: [Double] = []
            for run in 0..<runs {
                var messages = [InferRequest.Message(role: "system", content: "Chat \(run). " + Prompts.system)]
                var ttfts: [Double] = []
                for turn in 1...10 {
                    messages.append(.init(role: "user", content: "Tell me fact number \(turn) about rivers, in one sentence."))
                    var request = InferRequest(prompt: "")
                    request.prompt = nil
                    request.messages = messages
                    request.maxTokens = 48
                    request.temperature = 0
                    let result = try await HTTPLoad.infer(request, on: kernel.home)
                    ttfts.append(result.usage.timeToFirstTokenMs - result.usage.queueMs)
                    messages.append(.init(role: "assistant", content: result.text))
                }
                firsts.append(ttfts[0])
                tenths.append(ttfts[9])
            }
            return (firsts.median, tenths.median)
        }
        table.add("10-turn chat: TTFT of turn 10", agentos: tenth * 1e6, baseline: first * 1e6, unit: .nanoseconds,
                  baselineIs: "TTFT of turn 1", goal: "≤ 1.5×", lowerIsBetter: true)
    }

    // MARK: Scheduling

    /// p95 time to first token of short requests from other agents while two
    /// agents keep the queue full: fair share with preemption, and without,
    /// vs FIFO. One run each: the FIFO run alone takes about two minutes.
    private func shortRequestLatency(into table: inout ResultTable) async throws {
        let preempting = try await shortRequestTTFT(policy: "fair")
        let fair = try await shortRequestTTFT(policy: "fair", extra: ["--preempt", "off"])
        let fifo = try await shortRequestTTFT(policy: "fifo")
        table.add("p95 TTFT of short requests while 2 agents flood", agentos: preempting * 1e6, baseline: fifo * 1e6, unit: .nanoseconds,
                  baselineIs: "same kernel, --policy fifo (20 samples each)", goal: "≤ 0.1×", lowerIsBetter: true)
        table.add("  the same, fair share without preemption", agentos: fair * 1e6, baseline: fifo * 1e6, unit: .nanoseconds,
                  baselineIs: "same kernel, --policy fifo", goal: "report", lowerIsBetter: true)
    }

    /// Milliseconds: the p95 TTFT of 20 short requests (8 tokens), 4 at a time
    /// from 4 agents, while 2 flood agents each keep 8 long requests (128
    /// tokens) in a kernel of 4 slots: 12 requests queued, 3 rounds of the
    /// slots, which FIFO makes a short request wait behind.
    private func shortRequestTTFT(policy: String, extra: [String] = []) async throws -> Double {
        let floodAgents = 2
        let floodDepth = 8
        let slots = 4
        let arguments = kernelArguments(slots: slots, context: 4096, policy: policy) + extra
        return try await BenchKernel.with(agentosd: agentosd, arguments) { kernel in
            let home = kernel.home
            return try await withThrowingTaskGroup(of: Void.self) { group in
                for flood in 1...floodAgents {
                    for _ in 0..<floodDepth {
                        group.addTask {
                            while !Task.isCancelled {
                                _ = try await HTTPLoad.infer(Prompts.request(Prompts.count, agent: "flood-\(flood)", maxTokens: 128), on: home)
                            }
                        }
                    }
                }
                // Wait until every flood request is in the kernel.
                while true {
                    let engine = try await kernel.client.engine()
                    if engine.activeSequences + engine.queueLength >= floodAgents * floodDepth { break }
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
                var ttfts: [Double] = []
                for _ in 0..<5 {
                    ttfts += try await withThrowingTaskGroup(of: Double.self) { shorts in
                        for agent in 1...4 {
                            shorts.addTask {
                                try await HTTPLoad.infer(Prompts.request(Prompts.short, agent: "short-\(agent)", maxTokens: 8), on: home).usage.timeToFirstTokenMs
                            }
                        }
                        return try await shorts.reduce(into: []) { $0.append($1) }
                    }
                }
                let queued = try await kernel.client.engine().queueLength
                guard queued >= floodAgents * floodDepth - slots - floodAgents else {
                    throw BenchError("p95 TTFT (\(policy)): the flood did not keep the queue full (\(queued) queued)")
                }
                group.cancelAll()
                return ttfts.percentile(95)
            }
        }
    }
}
