import ArgumentParser
import Engines
import Foundation
import KernelCore

/// agentosd's flags for the inference engine and its scheduler.
struct EngineOptions: ParsableArguments {
    enum Kind: ExpressibleByArgument, Equatable {
        case llama, openai, none
        /// `cluster:MODEL`: another kernel of the cluster serves MODEL (`--serve-engine MODEL`).
        case cluster(String)

        init?(argument: String) {
            switch argument {
            case "llama": self = .llama
            case "openai": self = .openai
            case "none": self = .none
            default:
                guard argument.hasPrefix("cluster:") else { return nil }
                self = .cluster(String(argument.dropFirst("cluster:".count)))
            }
        }

        var defaultValueDescription: String {
            switch self {
            case .llama: "llama"
            case .openai: "openai"
            case .none: "none"
            case .cluster(let model): "cluster:\(model)"
            }
        }
    }

    @Option(name: .long, help: ArgumentHelp(
        "Inference engine: llama (embedded llama.cpp), openai (an OpenAI-compatible server), cluster:MODEL (a kernel of the cluster serving MODEL with --serve-engine), or none.",
        valueName: "engine"))
    var engine: Kind = .llama

    @Option(name: .long, help: "GGUF model for the llama engine ($AGENTOS_MODEL, else .deps/models/SmolLM2-135M-Instruct.Q4_1.gguf).")
    var model: String = ProcessInfo.processInfo.environment["AGENTOS_MODEL"] ?? ".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(name: .long, help: "Refuse to start unless the model file has this SHA-256 (hex).")
    var modelSha256: String?

    @Option(name: .long, help: "KV cache size in tokens, shared evenly by the slots.")
    var ctx = 16384

    @Option(name: .long, help: "Sequences the engine runs at once (continuous batching).")
    var slots = 8

    @Option(name: .long, help: "CPU threads for the llama engine (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Tokens per engine step (llama.cpp's batch size).")
    var batch = 512

    @Flag(name: .long, help: "Compute every prompt whole: do not keep slots' KV for prompts that start the same way.")
    var noPrefixCache = false

    @Option(name: .long, help: ArgumentHelp(
        "Host memory for KV state the slots no longer hold and for paused sequences, e.g. 512M or 2G (default: the KV cache's size; 0 turns the prefix cache off).",
        valueName: "bytes"))
    var kvCacheBudget: ByteCount?

    @Option(name: .long, help: "Pause the most-served running sequence for a request that waited past its fair share: on or off (fair policy only).")
    var preempt: Switch = .on

    @Option(name: .long, help: "llama.cpp's flash attention: on or off.")
    var flashAttn: Switch = .on

    @Option(name: .long, help: "KV cache element type: f16, q8_0 or q4_0 (quantized types need flash attention).")
    var kvType: LlamaEngine.KVType = .f16

    @Option(name: .long, help: "Scheduling policy: fair (fair share of tokens across agents), priority, or fifo.")
    var policy: SchedulingPolicy = .fair

    @Option(name: .long, help: "Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1.")
    var engineURL: String?

    @Option(name: .long, help: "Model name sent to the OpenAI-compatible API.")
    var engineModel: String?

    @Option(name: .long, help: "Seconds without data before a remote request fails as stalled.")
    var engineStallTimeout: Double = 30

    @Option(name: .long, help: ArgumentHelp(
        "How the openai engine offers tools: native (OpenAI tools), kernel (in the prompt, with the kernel's grammar: for servers that ignore tools), or auto (native until the server is seen to ignore them).",
        valueName: "format"))
    var engineTools: OpenAIToolFormat = .native

    func validate() throws {
        guard (1...256).contains(slots) else { throw ValidationError("--slots must be in 1...256") }
        guard ctx >= 256 * slots, ctx <= 1 << 22 else { throw ValidationError("--ctx must give each slot at least 256 tokens (and be at most 4194304)") }
        guard (1...1024).contains(threads) else { throw ValidationError("--threads must be in 1...1024") }
        guard (32...65536).contains(batch), batch >= slots else { throw ValidationError("--batch must be in 32...65536 and at least --slots") }
        if let modelSha256, modelSha256.count != 64 || !modelSha256.allSatisfy(\.isHexDigit) {
            throw ValidationError("--model-sha256 must be 64 hex digits")
        }
        if engine == .openai {
            guard let engineURL, URL(string: engineURL)?.scheme?.hasPrefix("http") == true else {
                throw ValidationError("--engine openai needs --engine-url http(s)://HOST:PORT/v1")
            }
            guard engineModel != nil else { throw ValidationError("--engine openai needs --engine-model NAME") }
        }
        if case .cluster(let model) = engine, !ClusterName.isValidNode(model) {
            throw ValidationError("invalid --engine cluster:\(model): a model name is 1-63 letters, digits, '_' or '-'")
        }
        if engineTools != .native, engine != .openai { throw ValidationError("--engine-tools is for --engine openai") }
        guard engineStallTimeout.isFinite, engineStallTimeout > 0 else { throw ValidationError("--engine-stall-timeout must be positive") }
        if kvType != .f16, flashAttn == .off { throw ValidationError("--kv-type \(kvType.rawValue) needs flash attention; drop --flash-attn off") }
    }

    /// The engine these flags describe, loaded and ready. Throws a `KernelError` saying what is wrong.
    func makeEngine() throws(KernelError) -> InferenceEngine? {
        switch engine {
        case .none:
            return nil
        case .llama:
            if let modelSha256 { try ModelChecksum.verify(path: model, sha256: modelSha256) }
            var configuration = LlamaEngine.Configuration(modelPath: model)
            configuration.contextTokens = ctx
            configuration.slots = slots
            configuration.threads = threads
            configuration.batchTokens = batch
            configuration.prefixCache = !noPrefixCache
            configuration.kvCacheBudget = kvCacheBudget?.bytes
            configuration.preempt = preempt == .on
            configuration.flashAttention = flashAttn == .on
            configuration.kvType = kvType
            return try LlamaEngine(configuration: configuration)
        case .openai:
            var configuration = OpenAIEngine.Configuration(baseURL: engineURL!, model: engineModel!)
            configuration.apiKey = ProcessInfo.processInfo.environment["AGENTOS_ENGINE_API_KEY"]
            configuration.slots = slots
            configuration.contextTokens = ctx / slots
            configuration.stallTimeout = engineStallTimeout
            configuration.toolFormat = engineTools
            return OpenAIEngine(configuration: configuration)
        case .cluster(let model):
            var configuration = ClusterEngine.Configuration(model: model)
            configuration.slots = slots
            configuration.contextTokens = ctx / slots
            return ClusterEngine(configuration: configuration)
        }
    }
}

extension SchedulingPolicy: ExpressibleByArgument {}
extension LlamaEngine.KVType: ExpressibleByArgument {}
extension OpenAIToolFormat: ExpressibleByArgument {}

/// A flag's on or off.
enum Switch: String, ExpressibleByArgument, CaseIterable {
    case on, off
}
