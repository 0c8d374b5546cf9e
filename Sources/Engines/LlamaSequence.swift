import CLlama
import KernelCore

/// One request running in one slot of the llama.cpp engine: its prompt
/// tokens, how far they are decoded, its sampler chain and its text so far.
/// Confined to the engine thread.
final class LlamaSequence {
    let request: InferenceRequest
    let slot: Int32
    let prompt: [llama_token]
    /// Tokens already in the KV cache for this sequence.
    var position: Int32 = 0
    /// The token to decode next once the prompt is in (the last one sampled).
    var nextToken: llama_token = 0
    var generated = 0
    var text: GeneratedText
    let sampler: UnsafeMutablePointer<llama_sampler>
    /// With tools offered: nil until the output shows whether it is a call;
    /// then true for a call (held back, not streamed), false for an answer.
    private var isToolCall: Bool?
    /// The text of a tool call so far.
    private(set) var toolCallText: String?

    var pendingPrompt: Int { max(prompt.count - Int(position), 0) }

    /// `reused`: leading prompt tokens already in the slot's KV cache.
    init(request: InferenceRequest, slot: Int32, prompt: [llama_token], reused: Int, sampler: UnsafeMutablePointer<llama_sampler>) {
        self.request = request
        self.slot = slot
        self.prompt = prompt
        self.position = Int32(reused)
        self.sampler = sampler
        self.text = GeneratedText(stop: request.parameters.stop)
    }

    deinit { llama_sampler_free(sampler) }

    /// The part of `piece` to stream: all of an answer, none of a tool call.
    /// The tool grammar lets only a call start with "<".
    func route(_ piece: String) -> String {
        guard !request.parameters.tools.isEmpty else { return piece }
        if isToolCall == nil, let first = piece.first {
            isToolCall = first == "<"
            if first == "<" { toolCallText = "" }
        }
        guard isToolCall == true else { return piece }
        toolCallText! += piece
        return ""
    }

    /// A sampler chain for `parameters`: grammar first (it only removes
    /// candidates), then greedy, or top-p, temperature and a seeded draw.
    /// Returns nil when the grammar does not parse.
    static func sampler(
        for parameters: InferenceParameters, grammar: String?, vocab: OpaquePointer
    ) -> UnsafeMutablePointer<llama_sampler>? {
        var chainParameters = llama_sampler_chain_default_params()
        chainParameters.no_perf = true
        guard let chain = llama_sampler_chain_init(chainParameters) else { return nil }
        if let grammar {
            guard let constraint = llama_sampler_init_grammar(vocab, grammar, "root") else {
                llama_sampler_free(chain)
                return nil
            }
            llama_sampler_chain_add(chain, constraint)
        }
        if parameters.temperature == 0 {
            llama_sampler_chain_add(chain, llama_sampler_init_greedy())
        } else {
            if parameters.topP < 1 { llama_sampler_chain_add(chain, llama_sampler_init_top_p(parameters.topP, 1)) }
            llama_sampler_chain_add(chain, llama_sampler_init_temp(parameters.temperature))
            llama_sampler_chain_add(chain, llama_sampler_init_dist(UInt32(truncatingIfNeeded: parameters.seed)))
        }
        return chain
    }
}
