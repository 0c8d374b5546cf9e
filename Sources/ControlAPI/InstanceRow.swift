import StrictJSON

/// One row of `agentctl ps`: what the listing shows of an instance, and no
/// more. Its descriptor, grants and quotas are in `GET /v1/instances/NAME`
/// (`InstanceInfo`), `agentctl caps` and `agentctl quota`.
///
/// Its keys are some of `InstanceInfo`'s, with the same meanings; every one
/// is always present, null where it does not apply (see `InstanceList`).
public struct InstanceRow: Sendable, Equatable {
    /// Instance name, unique among live instances.
    public var name: String
    /// Kernel-minted id, never reused in a kernel's run.
    public var id: UInt64
    /// loading, running, stopping, stopped, failed or hung.
    public var state: String
    /// The file the instance was loaded from (not the private copy).
    public var plugin: String
    /// "agentctl", "plugins_dir" or "agent": who asked for the load.
    public var origin: String
    public var uptimeSeconds: Double
    /// CPU time of the instance's thread; nil once it ended (or a newer instance took its name).
    public var cpuSeconds: Double?
    public var messagesIn: UInt64
    public var messagesOut: UInt64
    public var mailboxDepth: Int
    public var mailboxLimit: Int
    /// Senders blocked waiting for room in its mailbox (back-pressure).
    public var sendersWaiting: Int
    /// The last error the instance hit (init status, handler status, hang), if any.
    public var lastError: String?
    /// Inference use under this instance's name since the kernel started; nil before any.
    public var inference: InferenceUse?

    public init(
        name: String, id: UInt64, state: String, plugin: String, origin: String, uptimeSeconds: Double,
        cpuSeconds: Double?, messagesIn: UInt64, messagesOut: UInt64, mailboxDepth: Int, mailboxLimit: Int,
        sendersWaiting: Int, lastError: String?, inference: InferenceUse?
    ) {
        self.name = name
        self.id = id
        self.state = state
        self.plugin = plugin
        self.origin = origin
        self.uptimeSeconds = uptimeSeconds
        self.cpuSeconds = cpuSeconds
        self.messagesIn = messagesIn
        self.messagesOut = messagesOut
        self.mailboxDepth = mailboxDepth
        self.mailboxLimit = mailboxLimit
        self.sendersWaiting = sendersWaiting
        self.lastError = lastError
        self.inference = inference
    }
}

/// `GET /v1/instances[?all=1]` and `agentctl ps -o json`: the live instances
/// (with `all`, the stopped and failed ones too), by id.
///
/// Read and written with `StrictJSON` rather than `Codable`: Foundation's
/// coders took seconds over 10,000 rows. The shape, keys sorted:
///
///     {"instances": [{"cpu_seconds": 0.02 | null, "id": 7, "inference": INFERENCE | null,
///       "last_error": "..." | null, "mailbox_depth": 0, "mailbox_limit": 1024,
///       "messages_in": 3, "messages_out": 3, "name": "echo", "origin": "agentctl",
///       "plugin": "/path/echo.so", "senders_waiting": 0, "state": "running",
///       "uptime_seconds": 12.5}, ...]}
///
/// INFERENCE is `InferenceUse` as `InstanceInfo` carries it. Readers should
/// ignore keys they do not know: a newer kernel may add some.
public struct InstanceList: Sendable, Equatable {
    public var instances: [InstanceRow]

    public init(instances: [InstanceRow]) { self.instances = instances }

    /// Reads the list from its JSON form; throws naming the first member that does not fit.
    public init(json: JSONValue) throws(JSONShapeError) {
        let rows = try JSONFields(json).objects("instances")
        instances = []
        instances.reserveCapacity(rows.count)
        for row in rows { instances.append(try InstanceRow(row)) }
    }

    /// The list's JSON form.
    public var json: JSONValue {
        .object([("instances", .array(instances.map(\.json)))])
    }
}

extension InstanceRow {
    fileprivate init(_ fields: JSONFields) throws(JSONShapeError) {
        self.init(
            name: try fields.required("name"), id: try fields.required("id"), state: try fields.required("state"),
            plugin: try fields.required("plugin"), origin: try fields.required("origin"),
            uptimeSeconds: try fields.required("uptime_seconds"), cpuSeconds: try fields.optional("cpu_seconds"),
            messagesIn: try fields.required("messages_in"), messagesOut: try fields.required("messages_out"),
            mailboxDepth: try fields.required("mailbox_depth"), mailboxLimit: try fields.required("mailbox_limit"),
            sendersWaiting: try fields.required("senders_waiting"), lastError: try fields.optional("last_error"),
            inference: try fields.optionalObject("inference").map { fields throws(JSONShapeError) in try InferenceUse(fields) })
    }

    fileprivate var json: JSONValue {
        .object([
            ("cpu_seconds", cpuSeconds.map(JSONValue.number) ?? .null),
            ("id", .count(id)),
            ("inference", inference?.json ?? .null),
            ("last_error", lastError.map(JSONValue.string) ?? .null),
            ("mailbox_depth", .integer(Int64(mailboxDepth))),
            ("mailbox_limit", .integer(Int64(mailboxLimit))),
            ("messages_in", .count(messagesIn)),
            ("messages_out", .count(messagesOut)),
            ("name", .string(name)),
            ("origin", .string(origin)),
            ("plugin", .string(plugin)),
            ("senders_waiting", .integer(Int64(sendersWaiting))),
            ("state", .string(state)),
            ("uptime_seconds", .number(uptimeSeconds)),
        ])
    }
}

extension InferenceUse {
    /// The same keys `Codable` gives it in `InstanceInfo` (a test holds the two together).
    fileprivate init(_ fields: JSONFields) throws(JSONShapeError) {
        self.init(
            requests: try fields.required("requests"), completed: try fields.required("completed"),
            failed: try fields.required("failed"), cancelled: try fields.required("cancelled"),
            inFlight: try fields.required("in_flight"), promptTokens: try fields.required("prompt_tokens"),
            completionTokens: try fields.required("completion_tokens"), meanQueueMs: try fields.required("mean_queue_ms"),
            meanTimeToFirstTokenMs: try fields.required("mean_time_to_first_token_ms"),
            meanDecodeMs: try fields.required("mean_decode_ms"))
    }

    fileprivate var json: JSONValue {
        .object([
            ("cancelled", .count(cancelled)),
            ("completed", .count(completed)),
            ("completion_tokens", .count(completionTokens)),
            ("failed", .count(failed)),
            ("in_flight", .integer(Int64(inFlight))),
            ("mean_decode_ms", .number(meanDecodeMs)),
            ("mean_queue_ms", .number(meanQueueMs)),
            ("mean_time_to_first_token_ms", .number(meanTimeToFirstTokenMs)),
            ("prompt_tokens", .count(promptTokens)),
            ("requests", .count(requests)),
        ])
    }
}

extension JSONValue {
    /// A count as JSON: `.integer` while it fits, as `JSONParser` reads it back.
    fileprivate static func count(_ value: UInt64) -> JSONValue {
        value <= UInt64(Int64.max) ? .integer(Int64(value)) : .unsigned(value)
    }
}
