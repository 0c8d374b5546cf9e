/// An inference engine: something that runs the requests a scheduler hands it.
///
/// The kernel owns one. An engine takes requests from its `InferenceScheduler`
/// when it has room, reports progress on each `InferenceRequest`, and stops
/// a request promptly once it is cancelled.
public protocol InferenceEngine: AnyObject, Sendable {
    /// What the engine runs, for `agentctl engine`.
    var info: EngineInfo { get }

    /// Checks what only the engine can judge (grammar syntax, context size)
    /// and does, once, the work a request needs before it can run (the chat
    /// template, tokens and grammar for llama.cpp; the request body for a
    /// remote engine). Called on the submitting thread before the request is
    /// queued; the result rides on `InferenceRequest.prepared` to the engine
    /// thread, which uses it instead of doing the work again. Returns nil when
    /// there is nothing to carry. Throws a `KernelError` naming the problem.
    ///
    /// An engine that takes a request without a value it prepared (one
    /// submitted to the scheduler directly) prepares it then, on its own thread.
    func prepare(_ parameters: InferenceParameters) throws(KernelError) -> (any PreparedInference)?

    /// Starts taking requests from `scheduler`. Called once.
    func start(serving scheduler: InferenceScheduler)

    /// Cancels what runs, stops taking requests and waits for the engine's threads.
    func shutdown()

    /// A snapshot of the engine's load.
    func stats() -> EngineStats

    /// Tokens `text` takes in a prompt, for fitting a session's history into
    /// the context. Any thread. By default its UTF-8 byte count, an upper
    /// bound for the byte-level tokenizers of chat models.
    func tokenCount(_ text: String) -> Int

    /// The most tokens one request's prompt and answer may take together
    /// (for llama.cpp, its context per sequence). By default `info.contextTokens`.
    var requestContextTokens: Int { get }
}

extension InferenceEngine {
    public func tokenCount(_ text: String) -> Int { text.utf8.count }
    public var requestContextTokens: Int { info.contextTokens }
}

/// What an engine made of a request's parameters in `InferenceEngine.prepare`.
///
/// Owned by the engine that made it: only that engine reads it (by casting to
/// its own type); the kernel only carries it. Immutable, so any thread may hold it.
public protocol PreparedInference: Sendable {}

/// What an engine is.
public struct EngineInfo: Sendable, Equatable {
    /// "llama.cpp", "openai" or "simulated".
    public var kind: String
    /// The model file or the remote model name.
    public var model: String
    /// Sequences run at once.
    public var slots: Int
    /// Context size in tokens.
    public var contextTokens: Int
    /// Where requests go: the remote URL, or "in-process".
    public var endpoint: String
    /// The settings the engine runs with, by name (for llama.cpp: "flash_attn",
    /// "kv_type", "kv_bytes", "batch", "ubatch", "threads", "prefill_chunk", "prefix_cache", "preempt").
    public var settings: [String: String]

    public init(kind: String, model: String, slots: Int, contextTokens: Int, endpoint: String, settings: [String: String] = [:]) {
        self.kind = kind
        self.model = model
        self.slots = slots
        self.contextTokens = contextTokens
        self.endpoint = endpoint
        self.settings = settings
    }
}

/// An engine's load at one moment, and its counters since start.
public struct EngineStats: Sendable, Equatable {
    /// Sequences being prefilled or decoded.
    public var activeSequences = 0
    /// KV cache cells running sequences use (0 for remote engines).
    public var kvCellsUsed = 0
    /// KV cache cells of finished sequences kept for prompts that start the
    /// same way; free for the taking, as vLLM counts its cached blocks.
    public var kvCellsCached = 0
    /// KV cache cells in all.
    public var kvCellsTotal = 0
    /// Engine steps (llama_decode calls, or remote chunks) since start.
    public var steps: UInt64 = 0
    /// Tokens prefilled since start.
    public var promptTokens: UInt64 = 0
    /// Prompt tokens whose KV came from the prefix cache instead (not in `promptTokens`).
    public var cachedPromptTokens: UInt64 = 0
    /// Cached prefixes copied from one slot into another.
    public var prefixCopies: UInt64 = 0
    /// Bytes of KV state held in host memory: prefixes evicted from the
    /// slots, and paused sequences.
    public var hostCacheBytes = 0
    /// The most bytes `hostCacheBytes` may reach (`--kv-cache-budget`).
    public var hostCacheBudget = 0
    /// Prefixes held in host memory.
    public var hostCacheEntries = 0
    /// Prefixes dropped from host memory to stay within the budget.
    public var hostCacheEvictions: UInt64 = 0
    /// Prefixes restored from host memory into a slot.
    public var hostCacheRestores: UInt64 = 0
    /// Running sequences paused for a request that waited past its fair share.
    public var preemptions: UInt64 = 0
    /// Sequences paused now, waiting to resume.
    public var pausedSequences = 0
    /// Tokens generated since start.
    public var generatedTokens: UInt64 = 0
    /// Sum of batch sizes over steps, for the mean batch size.
    public var batchTokens: UInt64 = 0
    /// Seconds the engine spent computing (not idle).
    public var busySeconds: Double = 0

    public init() {}
}
