import CLlama
import KernelCore

/// Picks a sequence's next token from its logits the way its request asks:
/// greedy (the largest logit), or top-p, temperature and a seeded draw; with
/// a grammar, only a token the grammar allows.
///
/// The grammar is asked about the chosen token alone first; only when it
/// forbids that token is the choice made again among all the tokens it
/// allows, as llama.cpp's own common sampler does. Checking each of the
/// vocabulary's 49,152 tokens against the grammar at every step cost more
/// than the model itself (about 20 ms a token against 8). Greedy decoding
/// picks the same token either way; a seeded draw stays repeatable.
///
/// Owns its llama.cpp samplers; engine thread only.
final class TokenSampler {
    /// top-p, temperature and the seeded draw; nil for greedy.
    private let chain: UnsafeMutablePointer<llama_sampler>?
    private let grammar: UnsafeMutablePointer<llama_sampler>?
    private let vocabularySize: Int

    /// Nil when `grammar` does not parse (llama.cpp logs why).
    init?(for parameters: InferenceParameters, grammar: String?, vocab: OpaquePointer) {
        vocabularySize = Int(llama_vocab_n_tokens(vocab))
        if let grammar {
            guard let constraint = llama_sampler_init_grammar(vocab, grammar, "root") else { return nil }
            self.grammar = constraint
        } else {
            self.grammar = nil
        }
        guard parameters.temperature > 0 else {
            chain = nil
            return
        }
        var chainParameters = llama_sampler_chain_default_params()
        chainParameters.no_perf = true
        let chain = llama_sampler_chain_init(chainParameters)!
        if parameters.topP < 1 { llama_sampler_chain_add(chain, llama_sampler_init_top_p(parameters.topP, 1)) }
        llama_sampler_chain_add(chain, llama_sampler_init_temp(parameters.temperature))
        llama_sampler_chain_add(chain, llama_sampler_init_dist(UInt32(truncatingIfNeeded: parameters.seed)))
        self.chain = chain
    }

    deinit {
        if let chain { llama_sampler_free(chain) }
        if let grammar { llama_sampler_free(grammar) }
    }

    /// The next token from the logits of batch row `index`; the grammar, if
    /// any, moves past it.
    func next(from context: OpaquePointer, row index: Int32) -> llama_token {
        let logits = UnsafeBufferPointer(start: llama_get_logits_ith(context, index), count: vocabularySize)
        var token = if let chain { llama_sampler_sample(chain, context, index) } else { Self.largest(logits) }
        if let grammar {
            if !allows(grammar, token) { token = allowedChoice(logits, grammar: grammar) }
            llama_sampler_accept(grammar, token)
        }
        return token
    }

    private func allows(_ grammar: UnsafeMutablePointer<llama_sampler>, _ token: llama_token) -> Bool {
        var candidate = llama_token_data(id: token, logit: 1, p: 0)
        return withUnsafeMutablePointer(to: &candidate) { pointer in
            var array = llama_token_data_array(data: pointer, size: 1, selected: -1, sorted: false)
            llama_sampler_apply(grammar, &array)
            return pointer.pointee.logit != -.infinity
        }
    }

    /// The choice among every token the grammar allows.
    private func allowedChoice(_ logits: UnsafeBufferPointer<Float>, grammar: UnsafeMutablePointer<llama_sampler>) -> llama_token {
        var candidates = logits.enumerated().map { llama_token_data(id: llama_token($0.offset), logit: $0.element, p: 0) }
        return candidates.withUnsafeMutableBufferPointer { buffer in
            var array = llama_token_data_array(data: buffer.baseAddress, size: buffer.count, selected: -1, sorted: false)
            llama_sampler_apply(grammar, &array)
            guard let chain else {
                return UnsafeBufferPointer(start: array.data, count: array.size).max { $0.logit < $1.logit }!.id
            }
            llama_sampler_apply(chain, &array)
            return array.data[Int(array.selected)].id
        }
    }

    /// The token with the largest logit (the first of equals).
    private static func largest(_ logits: UnsafeBufferPointer<Float>) -> llama_token {
        var best = 0
        for index in logits.indices where logits[index] > logits[best] { best = index }
        return llama_token(best)
    }
}
