import CLlama
import Foundation
import KernelCore
import Metrics
import Synchronization

/// The embedded engine: llama.cpp in the kernel's process, with continuous batching.
///
/// One thread owns the `llama_context`. Each step it admits queued requests
/// into free slots (one `seq_id` each), then decodes one `llama_batch` that
/// carries one token for every generating sequence plus chunks of waiting
/// prompts (`BatchPlanner`), samples each sequence with its own chain, and
/// keeps a finished sequence's KV cells for the next prompt that starts the
/// same way (`SlotPrefixes`). Thread-safe API; the loop runs on its own thread.
public final class LlamaEngine: InferenceEngine, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var modelPath: String
        /// KV cache size in tokens, shared evenly by the slots.
        public var contextTokens = 16384
        /// Sequences decoded together.
        public var slots = 8
        public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        /// Tokens per `llama_decode` (llama.cpp's n_batch).
        public var batchTokens = 512
        /// Prompt tokens one sequence prefills per step, so long prompts do not stall decoding.
        public var prefillChunk = 128
        /// Keep each slot's KV after its request and reuse the longest cached
        /// prefix of a new prompt (`SlotPrefixes`); off, every prompt is computed whole.
        public var prefixCache = true
        /// Host memory for KV state no slot holds (`HostPrefixCache`) and for
        /// paused sequences, in bytes; nil for the size of the KV cache itself.
        /// 0 turns off the prefix cache, and preemption with it.
        public var kvCacheBudget: Int?
        /// Pause the most-served running sequence for a request that waited past
        /// its fair share (`PreemptionPolicy`; the fair policy only).
        public var preempt = true
        /// llama.cpp's flash attention kernels (needed for a quantized V cache).
        public var flashAttention = true
        /// The KV cache's element type.
        public var kvType = KVType.f16

        public init(modelPath: String) { self.modelPath = modelPath }
    }

    /// Element types the KV cache can hold: f16, or 8- and 4-bit blocks (half
    /// and a quarter of the memory, at some cost in accuracy; need flash attention).
    public enum KVType: String, Sendable, CaseIterable {
        case f16, q8_0, q4_0

        var ggmlType: ggml_type {
            switch self {
            case .f16: GGML_TYPE_F16
            case .q8_0: GGML_TYPE_Q8_0
            case .q4_0: GGML_TYPE_Q4_0
            }
        }
    }

    public let info: EngineInfo
    let configuration: Configuration
    let model: LlamaModel
    let context: OpaquePointer
    /// Context per sequence: a prompt plus its output must fit in it.
    let sequenceContext: Int
    let planner: BatchPlanner

    let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)
    /// Tokens per engine step: `agentos_engine_batch_size`.
    let batchSize = Recorder(label: MetricName.engineBatchSize)
    let computedPromptTokens = Counter(label: MetricName.enginePromptTokens, dimensions: [("source", "computed")])
    let cachedPromptTokens = Counter(label: MetricName.enginePromptTokens, dimensions: [("source", "cache")])
    let preemptions = Counter(label: MetricName.enginePreemptions)
    let hostCacheEvictions = Counter(label: MetricName.engineHostCacheEvictions)
    /// Bytes of host memory `HostPrefixCache` may hold.
    let hostCacheBudget: Int
    /// The CPU threads that compute every batch, kept between steps as llama-bench keeps them.
    private let threadpool: OpaquePointer
    let snapshot = Mutex(EngineStats())
    private var scheduler: InferenceScheduler?

    /// Loads the model and creates the context. Throws `.engineUnavailable`
    /// naming what is wrong with the model file or the settings.
    public init(configuration: Configuration) throws(KernelError) {
        var configuration = configuration
        if configuration.kvCacheBudget == 0 { configuration.prefixCache = false }
        guard configuration.slots >= 1, configuration.slots <= 256 else {
            throw KernelError(.invalidArgument, "--slots \(configuration.slots): use 1 to 256")
        }
        guard configuration.contextTokens >= 256 * configuration.slots else {
            throw KernelError(.invalidArgument, "--ctx \(configuration.contextTokens) gives each of \(configuration.slots) slots fewer than 256 tokens")
        }
        guard configuration.kvType == .f16 || configuration.flashAttention else {
            throw KernelError(.invalidArgument, "--kv-type \(configuration.kvType.rawValue) needs flash attention (drop --flash-attn off)")
        }
        model = try LlamaModel(path: configuration.modelPath)
        var parameters = llama_context_default_params()
        parameters.n_ctx = UInt32(configuration.contextTokens)
        parameters.n_seq_max = UInt32(configuration.slots)
        parameters.n_batch = UInt32(configuration.batchTokens)
        parameters.n_ubatch = UInt32(configuration.batchTokens)
        parameters.n_threads = Int32(configuration.threads)
        parameters.n_threads_batch = Int32(configuration.threads)
        parameters.flash_attn_type = configuration.flashAttention ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED
        parameters.type_k = configuration.kvType.ggmlType
        parameters.type_v = configuration.kvType.ggmlType
        parameters.kv_unified = false
        parameters.no_perf = true
        guard let context = llama_init_from_model(model.pointer, parameters) else {
            throw KernelError(.engineUnavailable, "llama.cpp could not create a context of \(configuration.contextTokens) tokens: \(LlamaBackend.lastError ?? "out of memory?")")
        }
        var pool = ggml_threadpool_params_default(Int32(configuration.threads))
        pool.poll = 50
        guard let threadpool = ggml_threadpool_new(&pool) else {
            llama_free(context)
            throw KernelError(.engineUnavailable, "ggml could not start \(configuration.threads) threads")
        }
        llama_attach_threadpool(context, threadpool, nil)
        self.context = context
        self.threadpool = threadpool
        self.configuration = configuration
        sequenceContext = Int(llama_n_ctx_seq(context))
        planner = BatchPlanner(tokenBudget: configuration.batchTokens, prefillChunk: configuration.prefillChunk)
        let kvBytes = Int(llama_n_ctx(context)) * model.kvBytesPerToken(configuration.kvType.ggmlType)
        hostCacheBudget = configuration.kvCacheBudget ?? kvBytes
        info = EngineInfo(
            kind: "llama.cpp", model: configuration.modelPath, slots: configuration.slots,
            contextTokens: Int(llama_n_ctx(context)), endpoint: "in-process",
            settings: [
                "flash_attn": configuration.flashAttention ? "on" : "off",
                "kv_type": configuration.kvType.rawValue,
                "kv_bytes": "\(kvBytes)",
                "batch": "\(configuration.batchTokens)",
                "ubatch": "\(llama_n_ubatch(context))",
                "threads": "\(configuration.threads)",
                "prefill_chunk": "\(configuration.prefillChunk)",
                "prefix_cache": configuration.prefixCache ? "on" : "off",
                "preempt": configuration.preempt ? "on" : "off",
            ])
        snapshot.withLock {
            $0.kvCellsTotal = Int(llama_n_ctx(context))
            $0.hostCacheBudget = hostCacheBudget
        }
    }

    deinit {
        llama_free(context)
        ggml_threadpool_free(threadpool)
    }

    // MARK: InferenceEngine

    /// Checks that `maxTokens` and the prompt fit a sequence's context and
    /// that the grammar parses; returns the prompt's tokens and the grammar.
    public func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)? {
        try preparedPrompt(for: parameters)
    }

    /// Tokens of `text` as the model's tokenizer counts them (the template's own tokens aside).
    public func tokenCount(_ text: String) -> Int { model.tokenize(text).count }

    /// A sequence's context: a prompt plus its output must fit in it.
    public var requestContextTokens: Int { sequenceContext }

    public func start(serving scheduler: InferenceScheduler) {
        self.scheduler = scheduler
        let thread = Thread { [self] in
            run(scheduler)
            finished.signal()
        }
        thread.name = "aos:engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    public func shutdown() {
        guard running.exchange(false, ordering: .relaxed), let scheduler else { return }
        scheduler.wakeEngine()
        finished.wait()
    }

    public func stats() -> EngineStats { snapshot.withLock { $0 } }

    // MARK: Preparing a request

    /// `parameters` made ready to run: on the submitting thread in `prepare`,
    /// or on the engine thread for a request queued without it.
    func preparedPrompt(for parameters: InferenceParameters) throws(KernelError) -> LlamaPreparedPrompt {
        guard parameters.maxTokens < sequenceContext else {
            throw KernelError(.invalidArgument, "max_tokens \(parameters.maxTokens) does not fit the context of \(sequenceContext) tokens per sequence")
        }
        let grammar = try grammar(for: parameters)
        if let grammar { try model.checkGrammar(grammar) }
        let tokens = model.tokenize(try model.prompt(for: messages(for: parameters)))
        guard tokens.count < sequenceContext else { throw promptTooLong(tokens.count) }
        return LlamaPreparedPrompt(tokens: tokens, grammar: grammar)
    }

    /// The chat as the model reads it: with tools, described in the Hermes way.
    private func messages(for parameters: InferenceParameters) -> [ChatMessage] {
        parameters.tools.isEmpty ? parameters.messages : HermesToolFormat.messages(for: parameters)
    }

    private func grammar(for parameters: InferenceParameters) throws(KernelError) -> String? {
        if !parameters.tools.isEmpty { return try HermesToolFormat.grammar(for: parameters) }
        switch parameters.constraint {
        case nil: return nil
        case .grammar(let grammar): return grammar
        case .jsonSchema(let schema): return try JSONSchemaGrammar.grammar(fromSchema: schema)
        }
    }

    func promptTooLong(_ tokens: Int) -> KernelError {
        KernelError(.promptTooLong, "the prompt is \(tokens) tokens; the context holds \(sequenceContext) per sequence (raise --ctx or lower --slots)")
    }
}

/// A request made ready for llama.cpp once (`LlamaEngine.prepare`): the chat
/// in the model's template, tokenized, and the grammar its sampler follows
/// (checked to parse), or nil for none. Immutable.
struct LlamaPreparedPrompt: PreparedInference {
    let tokens: [llama_token]
    let grammar: String?
}
