import CLlama
import KernelCore

/// One request running in one slot of the llama.cpp engine: its prompt
/// tokens, how far they are decoded, its sampler and its text so far.
/// Confined to the engine thread.
final class LlamaSequence {
    let request: InferenceRequest
    /// The slot it runs in; another one after it was paused and resumed.
    var slot: Int32
    let prompt: [llama_token]
    /// Tokens already in the KV cache for this sequence.
    var position: Int32 = 0
    /// The token to decode next once the prompt is in (the last one sampled).
    var nextToken: llama_token = 0
    var generated = 0
    /// Steps it took part in since it started or last resumed (`PreemptionPolicy.minimumRun`).
    var stepsRun = 0
    /// While set, the sequence does not prefill: `source`, running in another
    /// slot, is computing the first `tokens` tokens of this prompt too, and
    /// they are copied from it once computed (`LlamaEngine.adoptSharedPrefixes`).
    var awaiting: (source: LlamaSequence, tokens: Int)?
    var text: GeneratedText
    let sampler: TokenSampler
    /// With tools offered: nil until the output shows whether it is a call;
    /// then true for a call (held back, not streamed), false for an answer.
    private var isToolCall: Bool?
    /// The text of a tool call so far.
    private(set) var toolCallText: String?

    var pendingPrompt: Int { max(prompt.count - Int(position), 0) }

    /// `reused`: leading prompt tokens already in the slot's KV cache.
    init(request: InferenceRequest, slot: Int32, prompt: [llama_token], reused: Int, sampler: TokenSampler) {
        self.request = request
        self.slot = slot
        self.prompt = prompt
        self.position = Int32(reused)
        self.sampler = sampler
        self.text = GeneratedText(stop: request.parameters.stop)
    }

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
}
