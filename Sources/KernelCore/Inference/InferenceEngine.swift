/// An inference engine: something that runs the requests a scheduler hands it.
///
/// The kernel owns one. An engine takes requests from its `InferenceScheduler`
/// when it has room, reports progress on each `InferenceRequest`, and stops
/// a request promptly once it is cancelled.
public protocol InferenceEngine: AnyObject, Sendable {
    /// What the engine runs, for `agentctl engine`.
    var info: EngineInfo { get }

    /// Checks what only the engine can judge (grammar syntax, context size)
    /// before a request is queued. Throws a `KernelError` naming the problem.
    func validate(_ parameters: InferenceParameters) throws(KernelError)

    /// Starts taking requests from `scheduler`. Called once.
    func start(serving scheduler: InferenceScheduler)

    /// Cancels what runs, stops taking requests and waits for the engine's threads.
    func shutdown()

    /// A snapshot of the engine's load.
    func stats() -> EngineStats
}

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

    public init(kind: String, model: String, slots: Int, contextTokens: Int, endpoint: String) {
        self.kind = kind
        self.model = model
        self.slots = slots
        self.contextTokens = contextTokens
        self.endpoint = endpoint
    }
}

/// An engine's load at one moment, and its counters since start.
public struct EngineStats: Sendable, Equatable {
    /// Sequences being prefilled or decoded.
    public var activeSequences = 0
    /// KV cache cells in use (0 for remote engines).
    public var kvCellsUsed = 0
    /// KV cache cells in all.
    public var kvCellsTotal = 0
    /// Engine steps (llama_decode calls, or remote chunks) since start.
    public var steps: UInt64 = 0
    /// Tokens prefilled since start.
    public var promptTokens: UInt64 = 0
    /// Tokens generated since start.
    public var generatedTokens: UInt64 = 0
    /// Sum of batch sizes over steps, for the mean batch size.
    public var batchTokens: UInt64 = 0
    /// Seconds the engine spent computing (not idle).
    public var busySeconds: Double = 0

    public init() {}
}
