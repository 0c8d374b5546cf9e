/// One plugin's resource quotas, as set in policy.yaml and with
/// `agentctl quota NAME key=value` (nil = unlimited).
///
/// Rates throttle; the other limits refuse with `.quotaExceeded` (cgroup v2's
/// `max` files, in the kernel's currency). Each limit has a snake_case key,
/// the name users type.
public struct QuotaLimits: Sendable, Equatable {
    private enum Key: String, CaseIterable {
        case tokensPerMinute = "tokens_per_minute"
        case tokenBudget = "token_budget"
        case concurrentInference = "concurrent_inference"
        case toolCallsPerMinute = "tool_calls_per_minute"
        case mailboxDepth = "mailbox_depth"
        case messageBytes = "message_bytes"
        case handlerDeadlineMs = "handler_deadline_ms"
        case quotaWaitMs = "quota_wait_ms"
        case kvKeys = "kv_keys"
        case kvBytes = "kv_bytes"
        case memoryBytes = "memory_bytes"
        case cpuSeconds = "cpu_seconds"

        /// The largest value a user may set: beyond it is a typo, not a plan.
        var maximum: Int {
            switch self {
            case .tokensPerMinute: 1_000_000_000
            case .tokenBudget: 1_000_000_000_000
            case .concurrentInference: 65_536
            case .toolCallsPerMinute: 1_000_000
            case .mailboxDepth: 1_000_000
            case .messageBytes: 64 << 20
            case .handlerDeadlineMs, .quotaWaitMs: 24 * 3_600_000
            case .kvKeys: 1_000_000_000
            case .kvBytes: 1 << 50
            case .memoryBytes: 1 << 46
            case .cpuSeconds: 30 * 86_400
            }
        }
    }

    private var values: [Key: Int] = [:]

    /// Every key `set` and `value` accept, in display order.
    public static let keys = Key.allCases.map(\.rawValue)

    /// How long a throttled request waits for budget when `quotaWaitMs` is nil.
    public static let defaultQuotaWaitMs = 60_000

    public init(
        tokensPerMinute: Int? = nil, tokenBudget: Int? = nil, concurrentInference: Int? = nil,
        toolCallsPerMinute: Int? = nil, mailboxDepth: Int? = nil, messageBytes: Int? = nil,
        handlerDeadlineMs: Int? = nil, quotaWaitMs: Int? = nil, kvKeys: Int? = nil, kvBytes: Int? = nil,
        memoryBytes: Int? = nil, cpuSeconds: Int? = nil
    ) {
        values[.tokensPerMinute] = tokensPerMinute
        values[.tokenBudget] = tokenBudget
        values[.concurrentInference] = concurrentInference
        values[.toolCallsPerMinute] = toolCallsPerMinute
        values[.mailboxDepth] = mailboxDepth
        values[.messageBytes] = messageBytes
        values[.handlerDeadlineMs] = handlerDeadlineMs
        values[.quotaWaitMs] = quotaWaitMs
        values[.kvKeys] = kvKeys
        values[.kvBytes] = kvBytes
        values[.memoryBytes] = memoryBytes
        values[.cpuSeconds] = cpuSeconds
    }

    /// Prompt plus completion tokens per minute (throttles).
    public var tokensPerMinute: Int? {
        get { values[.tokensPerMinute] }
        set { values[.tokensPerMinute] = newValue }
    }
    /// Prompt plus completion tokens in all (refuses once used).
    public var tokenBudget: Int? {
        get { values[.tokenBudget] }
        set { values[.tokenBudget] = newValue }
    }
    /// Inference requests queued or running at once.
    public var concurrentInference: Int? {
        get { values[.concurrentInference] }
        set { values[.concurrentInference] = newValue }
    }
    /// Tool calls per minute (throttles).
    public var toolCallsPerMinute: Int? {
        get { values[.toolCallsPerMinute] }
        set { values[.toolCallsPerMinute] = newValue }
    }
    /// Messages the plugin's mailbox holds.
    public var mailboxDepth: Int? {
        get { values[.mailboxDepth] }
        set { values[.mailboxDepth] = newValue }
    }
    /// Bytes in one message the plugin sends.
    public var messageBytes: Int? {
        get { values[.messageBytes] }
        set { values[.messageBytes] = newValue }
    }
    /// Milliseconds one handler call may run.
    public var handlerDeadlineMs: Int? {
        get { values[.handlerDeadlineMs] }
        set { values[.handlerDeadlineMs] = newValue }
    }
    /// Milliseconds a throttled request may wait for budget before it is
    /// refused; nil means `defaultQuotaWaitMs`.
    public var quotaWaitMs: Int? {
        get { values[.quotaWaitMs] }
        set { values[.quotaWaitMs] = newValue }
    }

    /// Keys in each storage namespace the plugin writes to (refuses a put of a new key).
    public var kvKeys: Int? {
        get { values[.kvKeys] }
        set { values[.kvKeys] = newValue }
    }
    /// Bytes (keys plus values) in each storage namespace the plugin writes to (refuses a put that would pass it).
    public var kvBytes: Int? {
        get { values[.kvBytes] }
        set { values[.kvBytes] = newValue }
    }

    /// A process-mode host's address space, in bytes (`RLIMIT_AS`; the OS
    /// refuses the allocation past it). Only process-mode instances have it.
    public var memoryBytes: Int? {
        get { values[.memoryBytes] }
        set { values[.memoryBytes] = newValue }
    }
    /// A process-mode host's CPU time, in seconds (`RLIMIT_CPU`; the OS ends
    /// the host with SIGXCPU past it, a crash its restart policy handles).
    /// Only process-mode instances have it.
    public var cpuSeconds: Int? {
        get { values[.cpuSeconds] }
        set { values[.cpuSeconds] = newValue }
    }

    /// The keys the OS enforces on a process-mode instance's host, which thread mode has not.
    public static let hostKeys: Set<String> = [Key.memoryBytes.rawValue, Key.cpuSeconds.rawValue]

    /// The limit named `key`, or nil when it is unlimited or no such key exists.
    public func value(_ key: String) -> Int? {
        Key(rawValue: key).flatMap { values[$0] }
    }

    /// Every key with its limit (nil = unlimited), in `keys` order, for display.
    public var entries: [(key: String, value: Int?)] {
        Key.allCases.map { ($0.rawValue, values[$0]) }
    }

    /// Sets limit `key` from what a user typed: a positive integer, optionally
    /// with the suffix `k` (×1000) or `M` (×1 000 000), or `unlimited` to clear it.
    ///
    /// Throws `.invalidArgument` for an unknown key, or a value that is not a
    /// number, is zero or negative, or is above the key's maximum; the
    /// message names the key and the value, and says what is accepted.
    public mutating func set(_ key: String, _ value: String) throws(KernelError) {
        guard let limit = Key(rawValue: key) else {
            throw KernelError(
                .invalidArgument, "unknown quota `\(key)`; the quotas are \(Self.keys.joined(separator: ", "))")
        }
        if value == "unlimited" {
            values[limit] = nil
            return
        }
        values[limit] = try Self.parse(value, for: limit)
    }

    /// These limits, with `base`'s where these have none (per-plugin overrides over policy defaults).
    public func merged(over base: QuotaLimits) -> QuotaLimits {
        var merged = base
        merged.values.merge(values) { _, own in own }
        return merged
    }

    /// The limits `InferenceScheduler` enforces.
    public var inference: InferenceQuota {
        InferenceQuota(
            tokensPerMinute: tokensPerMinute, tokenBudget: tokenBudget, concurrentRequests: concurrentInference,
            maxWaitNanos: quotaWaitNanos)
    }

    /// How long a throttled request or tool call may wait for budget, in nanoseconds.
    var quotaWaitNanos: UInt64 {
        let wait = UInt64(clamping: quotaWaitMs ?? Self.defaultQuotaWaitMs).multipliedReportingOverflow(by: 1_000_000)
        return wait.overflow ? .max : wait.partialValue
    }

    private static func parse(_ text: String, for key: Key) throws(KernelError) -> Int {
        let setting = "\(key.rawValue)=\(text)"
        var digits = Substring(text)
        var multiplier = 1
        if digits.last == "k" {
            multiplier = 1000
            digits = digits.dropLast()
        } else if digits.last == "M" {
            multiplier = 1_000_000
            digits = digits.dropLast()
        }
        if digits.first == "-", digits.count > 1, digits.dropFirst().allSatisfy(\.isASCIIDigit) {
            throw KernelError(.invalidArgument, "\(setting) is negative; use a positive number, or `unlimited` for no limit")
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else {
            throw KernelError(
                .invalidArgument,
                "\(setting) is not a number; use a positive integer, optionally with k (×1000) or M (×1000000), or `unlimited`")
        }
        let tooLarge = KernelError(
            .invalidArgument, "\(setting) is too large; \(key.rawValue) is at most \(key.maximum)")
        guard let number = Int(digits) else { throw tooLarge }
        let (value, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow, value <= key.maximum else { throw tooLarge }
        guard value > 0 else {
            throw KernelError(.invalidArgument, "\(setting) is zero; use a positive number, or `unlimited` for no limit")
        }
        return value
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
