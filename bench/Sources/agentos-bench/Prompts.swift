import ControlAPI
import Foundation

/// The prompts of the inference rows, chosen so SmolLM2-135M-Instruct at
/// temperature 0 does not stop before max_tokens. Every request carries the
/// same system message, so the kernel's chat template and llama-server's
/// produce the same tokens.
enum Prompts {
    static let system = "You are a helpful assistant."

    /// A generation that runs past 128 tokens (35 prompt tokens with the template).
    static let count = "Count from 1 to 1000, separated by commas:"

    /// About 128 prompt tokens with the template, as llama-batched-bench's -npp 128, then a long generation.
    static let counted = String(
        repeating: "Agents share one model. Each agent sends requests to the kernel, which schedules them fairly, "
            + "batches them together and streams the tokens back as they are generated. ", count: 3)
        + "Now count from 1 to 1000, separated by commas:"

    /// About 512 prompt tokens with the template, as llama-bench's pp512.
    static let long = (1...26).map { "\($0). The quick brown fox jumps over the lazy dog near the quiet river bank." }
        .joined(separator: "\n") + "\nHow many lines are there?"

    /// A question answered in a few tokens.
    static let short = "Say hello."

    /// A help desk's system prompt of about 1,000 tokens (a 40-item catalog),
    /// the same for every agent of round `run` and different in each round, so
    /// each round starts with nothing of it cached on either side.
    static func sharedSystem(run: Int) -> String {
        "Round \(run). You are the help desk of a hardware shop. Answer briefly. The catalog:\n"
            + (1...40).map { item in
                "Item \(item): the model \(run)-\(item * 7) tool, \(item * 3 + 19) euros, in stock in \(item % 5 + 1) shops, delivered in \(item % 4 + 2) days."
            }.joined(separator: "\n")
    }

    /// `count`, made unique per run, agent and request so no server reuses an earlier request's prompt cache.
    static func tagged(run: Int, agent: Int, request: Int) -> String {
        "Task \(run)-\(agent)-\(request). " + count
    }

    static func request(_ prompt: String, system: String = system, agent: String, maxTokens: Int) -> InferRequest {
        var request = InferRequest(prompt: prompt)
        request.system = system
        request.agent = agent
        request.maxTokens = maxTokens
        request.temperature = 0
        request.seed = 1
        return request
    }

    /// Warns when the model stopped well before `expected` tokens, which makes a figure less comparable.
    static func checkLength(_ usage: InferUsage, expected: Int, what: String) {
        if usage.completionTokens < expected * 15 / 16 {
            warn("\(what): the model stopped after \(usage.completionTokens) of \(expected) tokens")
        }
    }

    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("agentos-bench: \(message)\n".utf8))
    }
}
