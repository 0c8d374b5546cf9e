/// `POST /v1/instances`: load a plugin file as a new instance.
public struct LoadRequest: Codable, Sendable, Equatable {
    /// Path of the `.so`, absolute or relative to the kernel's working directory.
    public var path: String
    /// Instance name; the descriptor's name when nil.
    public var name: String?
    /// Passed to the plugin's `init`; "" when nil.
    public var config: String?
    /// Added to the priority of the instance's inference requests; 0 when nil.
    public var priority: Int?
    /// Capabilities granted at load besides the policy's (`infer`, `tool:catalog.*`);
    /// one that does not parse refuses the load before anything is loaded.
    public var grants: [String]?
    /// "thread" or "process"; policy.yaml's `isolation:`, else thread, when nil.
    public var isolation: String?
    /// Process mode: "permanent", "transient" or "temporary"; with at most
    /// `restartIntensity` restarts in `restartPeriod` seconds. Nil: policy.yaml's, else permanent, 3 in 5 s.
    public var restart: String?
    public var restartIntensity: Int?
    public var restartPeriod: Double?

    public init(
        path: String, name: String? = nil, config: String? = nil, priority: Int? = nil, grants: [String]? = nil,
        isolation: String? = nil, restart: String? = nil, restartIntensity: Int? = nil, restartPeriod: Double? = nil
    ) {
        self.path = path
        self.name = name
        self.config = config
        self.priority = priority
        self.grants = grants
        self.isolation = isolation
        self.restart = restart
        self.restartIntensity = restartIntensity
        self.restartPeriod = restartPeriod
    }
}

/// `POST /v1/instances/NAME/reload`: replace an instance with a new version
/// of its plugin, handing its queued messages over (`agentctl reload`).
public struct ReloadRequest: Codable, Sendable, Equatable {
    /// Path of the new `.so`, absolute or relative to the kernel's working
    /// directory; nil reads the instance's own file again.
    public var path: String?
    /// How long the old instance's running handler may take to finish, in
    /// milliseconds; nil: 5000.
    public var timeoutMs: Int?

    public init(path: String? = nil, timeoutMs: Int? = nil) {
        self.path = path
        self.timeoutMs = timeoutMs
    }
}

/// `POST /v1/instances/NAME/messages`: send a message from the control API.
public struct SendRequest: Codable, Sendable, Equatable {
    /// The message body, UTF-8.
    public var text: String
    /// When true the message is a request and the response carries the reply.
    public var wait: Bool
    /// How long to wait for the reply, in milliseconds (0 = the kernel's default).
    public var timeoutMs: UInt32
    /// A session the receiver sees as `aos_message.session` (for its inference requests), or nil.
    public var session: String?

    public init(text: String, wait: Bool = false, timeoutMs: UInt32 = 0, session: String? = nil) {
        self.text = text
        self.wait = wait
        self.timeoutMs = timeoutMs
        self.session = session
    }

    /// `wait` and `timeout_ms` may be left out: `{"text":"hi"}` is a plain send.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        text = try container.decode(String.self, forKey: .text)
        wait = try container.decodeIfPresent(Bool.self, forKey: .wait) ?? false
        timeoutMs = try container.decodeIfPresent(UInt32.self, forKey: .timeoutMs) ?? 0
        session = try container.decodeIfPresent(String.self, forKey: .session)
    }
}

/// The answer to `SendRequest`.
public struct SendResponse: Codable, Sendable, Equatable {
    /// The kernel-minted message id (the correlation id of a request).
    public var messageId: UInt64
    /// The reply text when `wait` was set (invalid UTF-8 replaced with U+FFFD).
    public var reply: String?
    /// Seconds from queueing to the reply, when `wait` was set.
    public var elapsedSeconds: Double?
    /// With `wait`: the inference requests behind the answer (`agentctl trace` shows each).
    public var inferenceRequests: [UInt64]?

    public init(messageId: UInt64, reply: String? = nil, elapsedSeconds: Double? = nil, inferenceRequests: [UInt64]? = nil) {
        self.messageId = messageId
        self.reply = reply
        self.elapsedSeconds = elapsedSeconds
        self.inferenceRequests = inferenceRequests
    }
}
