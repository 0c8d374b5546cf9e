/// `POST /v1/infer`: a chat completion through the kernel's scheduler.
///
/// Give `messages`, or `prompt` (one user message) with an optional `system`.
/// Every field but the text may be left out.
public struct InferRequest: Codable, Sendable, Equatable {
    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// The agent the request is accounted to; "agentctl" when nil.
    public var agent: String?
    public var messages: [Message]?
    public var prompt: String?
    public var system: String?
    public var maxTokens: Int?
    public var temperature: Float?
    public var topP: Float?
    public var seed: UInt64?
    public var stop: [String]?
    /// A GBNF grammar the output must match.
    public var grammar: String?
    /// A JSON Schema (as JSON text) of an object the output must match.
    public var jsonSchema: String?
    public var priority: Int?
    /// Stream the output as JSON Lines of `InferStreamEvent`.
    public var stream: Bool?
    /// Tool names or globs the model may call ("catalog.*"): the kernel runs the tool loop.
    public var tools: [String]?
    /// "auto" (default) or "required": the first turn must call a tool.
    public var toolChoice: String?
    /// Model turns at most in the tool loop (1-32, default 8).
    public var maxSteps: Int?
    /// The session (of `agent`) the request belongs to: the kernel builds the
    /// prompt from its stored turns and stores the exchange.
    public var session: String?
    /// "keep_recent" (default) or "summarize": how the session's history is fitted to the context.
    public var sessionPolicy: String?
    /// "enqueue" (default), "reject" or "interrupt": what the request does
    /// while its session is answering another request.
    public var sessionBusy: String?

    public init(prompt: String) { self.prompt = prompt }

    /// Tokens generated when `maxTokens` is not given.
    public static let defaultMaxTokens = 256
}

/// Token counts and timings of one request.
public struct InferUsage: Codable, Sendable, Equatable {
    /// What of the prompt the engine did not compute, as OpenAI reports it.
    public struct PromptTokensDetails: Codable, Sendable, Equatable {
        /// Prompt tokens whose KV was reused from the engine's prefix cache.
        public var cachedTokens: Int

        public init(cachedTokens: Int) { self.cachedTokens = cachedTokens }
    }

    public var promptTokens: Int
    public var promptTokensDetails: PromptTokensDetails
    public var completionTokens: Int
    public var queueMs: Double
    public var timeToFirstTokenMs: Double
    public var totalMs: Double
    /// Time the model spent on it (summed over a tool loop's turns); the rest is the kernel's.
    public var engineMs: Double

    public init(
        promptTokens: Int, cachedTokens: Int, completionTokens: Int, queueMs: Double, timeToFirstTokenMs: Double,
        totalMs: Double, engineMs: Double
    ) {
        self.promptTokens = promptTokens
        self.promptTokensDetails = PromptTokensDetails(cachedTokens: cachedTokens)
        self.completionTokens = completionTokens
        self.queueMs = queueMs
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.totalMs = totalMs
        self.engineMs = engineMs
    }
}

/// The answer to `InferRequest`.
public struct InferResult: Codable, Sendable, Equatable {
    public var requestId: UInt64
    public var agent: String
    public var text: String
    /// stop, length or cancelled.
    public var finishReason: String
    /// Summed over every model turn of a tool loop.
    public var usage: InferUsage
    /// The tool loop's calls, in order; nil without tools.
    public var steps: [ToolStep]?

    public init(requestId: UInt64, agent: String, text: String, finishReason: String, usage: InferUsage, steps: [ToolStep]? = nil) {
        self.requestId = requestId
        self.agent = agent
        self.text = text
        self.finishReason = finishReason
        self.usage = usage
        self.steps = steps
    }
}

/// One line of a streamed `POST /v1/infer`: first `started`, then `piece`s
/// (and with tools, a `step` per tool call as it ends), then exactly one of
/// `result` or `error`.
public struct InferStreamEvent: Codable, Sendable, Equatable {
    /// The request id, in the first line.
    public var started: UInt64?
    public var piece: String?
    public var step: ToolStep?
    public var result: InferResult?
    public var error: ErrorBody.Detail?

    public init(
        started: UInt64? = nil, piece: String? = nil, step: ToolStep? = nil, result: InferResult? = nil,
        error: ErrorBody.Detail? = nil
    ) {
        self.started = started
        self.piece = piece
        self.step = step
        self.result = result
        self.error = error
    }
}

/// `GET /v1/engine`: the inference engine, its load and its throughput.
public struct EngineStatus: Codable, Sendable, Equatable {
    /// "llama.cpp", "openai", or "none".
    public var kind: String
    public var model: String
    public var endpoint: String
    public var slots: Int
    public var contextTokens: Int
    /// fair, priority or fifo.
    public var policy: String
    public var activeSequences: Int
    public var queueLength: Int
    /// KV cache cells running sequences use.
    public var kvCellsUsed: Int
    /// KV cache cells kept for reuse by the prefix cache (free for the taking).
    public var kvCellsCached: Int
    public var kvCellsTotal: Int
    public var steps: UInt64
    /// Prompt tokens computed since start.
    public var promptTokens: UInt64
    /// Prompt tokens reused from the prefix cache since start, instead of computed.
    public var cachedPromptTokens: UInt64
    /// Cached prefixes copied from one slot into another since start.
    public var prefixCopies: UInt64
    /// Bytes of KV state in host memory (evicted prefixes and paused sequences), and the most it may hold.
    public var hostCacheBytes: Int
    public var hostCacheBudget: Int
    /// Prefixes kept in host memory now; dropped for room, and restored into a slot, since start.
    public var hostCacheEntries: Int
    public var hostCacheEvictions: UInt64
    public var hostCacheRestores: UInt64
    /// Sequences paused for requests that waited past their fair share, since start; paused now.
    public var preemptions: UInt64
    public var pausedSequences: Int
    /// The engine's settings by name (flash_attn, kv_type, batch, ubatch, threads, ...).
    public var settings: [String: String]
    public var generatedTokens: UInt64
    /// Tokens per engine step, on average.
    public var meanBatchTokens: Double
    /// Tokens generated per second of engine work.
    public var generatedTokensPerSecond: Double

    public init(
        kind: String, model: String, endpoint: String, slots: Int, contextTokens: Int, policy: String,
        activeSequences: Int, queueLength: Int, kvCellsUsed: Int, kvCellsCached: Int, kvCellsTotal: Int, steps: UInt64,
        promptTokens: UInt64, cachedPromptTokens: UInt64, prefixCopies: UInt64, hostCacheBytes: Int, hostCacheBudget: Int,
        hostCacheEntries: Int, hostCacheEvictions: UInt64, hostCacheRestores: UInt64, preemptions: UInt64, pausedSequences: Int,
        settings: [String: String], generatedTokens: UInt64, meanBatchTokens: Double, generatedTokensPerSecond: Double
    ) {
        self.kind = kind
        self.model = model
        self.endpoint = endpoint
        self.slots = slots
        self.contextTokens = contextTokens
        self.policy = policy
        self.activeSequences = activeSequences
        self.queueLength = queueLength
        self.kvCellsUsed = kvCellsUsed
        self.kvCellsCached = kvCellsCached
        self.kvCellsTotal = kvCellsTotal
        self.steps = steps
        self.promptTokens = promptTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.prefixCopies = prefixCopies
        self.hostCacheBytes = hostCacheBytes
        self.hostCacheBudget = hostCacheBudget
        self.hostCacheEntries = hostCacheEntries
        self.hostCacheEvictions = hostCacheEvictions
        self.hostCacheRestores = hostCacheRestores
        self.preemptions = preemptions
        self.pausedSequences = pausedSequences
        self.settings = settings
        self.generatedTokens = generatedTokens
        self.meanBatchTokens = meanBatchTokens
        self.generatedTokensPerSecond = generatedTokensPerSecond
    }
}

/// An agent's inference use, in `agentctl ps -o json`.
public struct InferenceUse: Codable, Sendable, Equatable {
    public var requests: UInt64
    public var completed: UInt64
    public var failed: UInt64
    public var cancelled: UInt64
    public var inFlight: Int
    public var promptTokens: UInt64
    /// Of `promptTokens`, those reused from the engine's prefix cache.
    public var cachedPromptTokens: UInt64
    public var completionTokens: UInt64
    /// Means over ended requests, in milliseconds.
    public var meanQueueMs: Double
    public var meanTimeToFirstTokenMs: Double
    public var meanDecodeMs: Double

    public init(
        requests: UInt64, completed: UInt64, failed: UInt64, cancelled: UInt64, inFlight: Int, promptTokens: UInt64,
        cachedPromptTokens: UInt64, completionTokens: UInt64, meanQueueMs: Double, meanTimeToFirstTokenMs: Double,
        meanDecodeMs: Double
    ) {
        self.requests = requests
        self.completed = completed
        self.failed = failed
        self.cancelled = cancelled
        self.inFlight = inFlight
        self.promptTokens = promptTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.completionTokens = completionTokens
        self.meanQueueMs = meanQueueMs
        self.meanTimeToFirstTokenMs = meanTimeToFirstTokenMs
        self.meanDecodeMs = meanDecodeMs
    }
}

/// `GET /v1/requests/ID/trace`: one inference request's timeline.
public struct RequestTraceInfo: Codable, Sendable, Equatable {
    public struct Event: Codable, Sendable, Equatable {
        /// Milliseconds since the request was queued.
        public var atMs: Double
        /// queued, scheduled, first token, finished, failed, tool.
        public var event: String
        /// For a tool call: how long it ran.
        public var durationMs: Double?
        public var detail: String

        public init(atMs: Double, event: String, durationMs: Double?, detail: String) {
            self.atMs = atMs
            self.event = event
            self.durationMs = durationMs
            self.detail = detail
        }
    }

    public var requestId: UInt64
    public var agent: String
    public var events: [Event]

    public init(requestId: UInt64, agent: String, events: [Event]) {
        self.requestId = requestId
        self.agent = agent
        self.events = events
    }
}
