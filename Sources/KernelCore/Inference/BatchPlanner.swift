/// Plans one step of continuous batching: which sequences decode a token and
/// how much of which prompts to prefill, within the engine's batch size.
///
/// Every generating sequence decodes one token each step, so a long prompt
/// never stalls the others; the budget left over prefills waiting prompts,
/// oldest first, at most `prefillChunk` tokens each per step — or the whole
/// budget when no sequence is generating, since then nobody waits. Pure
/// logic, shared by the llama.cpp engine and the simulated one.
public struct BatchPlanner: Sendable {
    /// Tokens one step may carry (llama.cpp's n_batch).
    public let tokenBudget: Int
    /// Prompt tokens one sequence may prefill per step.
    public let prefillChunk: Int

    public init(tokenBudget: Int, prefillChunk: Int) {
        precondition(tokenBudget > 0 && prefillChunk > 0)
        self.tokenBudget = tokenBudget
        self.prefillChunk = prefillChunk
    }

    /// A sequence the engine holds, in admission order.
    public struct Sequence: Sendable, Equatable {
        public var slot: Int
        /// Prompt tokens not decoded yet; 0 once the sequence generates.
        public var pendingPrompt: Int

        public init(slot: Int, pendingPrompt: Int) {
            self.slot = slot
            self.pendingPrompt = pendingPrompt
        }
    }

    public struct Step: Sendable, Equatable {
        /// Slots that decode one generated token.
        public var decode: [Int] = []
        /// Slots that prefill, with how many prompt tokens.
        public var prefill: [(slot: Int, tokens: Int)] = []

        public var tokenCount: Int { decode.count + prefill.reduce(0) { $0 + $1.tokens } }
        public var isEmpty: Bool { decode.isEmpty && prefill.isEmpty }

        public static func == (a: Step, b: Step) -> Bool {
            a.decode == b.decode && a.prefill.elementsEqual(b.prefill) { $0 == $1 }
        }
    }

    public func plan(_ sequences: [Sequence]) -> Step {
        var step = Step()
        step.decode = sequences.filter { $0.pendingPrompt == 0 }.prefix(tokenBudget).map(\.slot)
        var budget = tokenBudget - step.decode.count
        let chunk = step.decode.isEmpty ? tokenBudget : prefillChunk
        for sequence in sequences where sequence.pendingPrompt > 0 && budget > 0 {
            let tokens = min(sequence.pendingPrompt, chunk, budget)
            step.prefill.append((sequence.slot, tokens))
            budget -= tokens
        }
        return step
    }
}
