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
    /// "thread" or "process": where its plugin code runs ("thread" from a kernel that does not say).
    public var isolation: String = "thread"
    /// Its `agentos-host` process in process mode; nil in thread mode.
    public var host: HostRow?

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

/// A process-mode instance's host, as `ps` shows it.
public struct HostRow: Codable, Sendable, Equatable {
    /// The running host's pid; nil between a crash and its restart, or once the instance ended.
    public var pid: Int?
    /// Hosts started again after a crash.
    public var restarts: Int
    public var crashes: Int
    /// The last crash: signal, faulting address, nearest plugin symbol, how the host ended.
    public var lastCrash: String?

    public init(pid: Int?, restarts: Int, crashes: Int, lastCrash: String?) {
        self.pid = pid
        self.restarts = restarts
        self.crashes = crashes
        self.lastCrash = lastCrash
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
///       "host": HOST | null, "isolation": "thread" | "process",
///       "messages_in": 3, "messages_out": 3, "name": "echo", "origin": "agentctl",
///       "plugin": "/path/echo.so", "senders_waiting": 0, "state": "running",
///       "uptime_seconds": 12.5}, ...]}
///
/// HOST: {"crashes": 1, "last_crash": "..." | null, "pid": 4242 | null, "restarts": 1}.
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

    /// Writes the list's JSON form.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("instances")
        writer.beginArray()
        for row in instances { row.write(to: &writer) }
        writer.endArray()
        writer.endObject()
    }
}

extension InstanceRow {
    fileprivate init(_ fields: JSONFields) throws(JSONShapeError) {
        self.init(
            name: try fields.string("name"), id: try fields.unsigned("id"), state: try fields.string("state"),
            plugin: try fields.string("plugin"), origin: try fields.string("origin"),
            uptimeSeconds: try fields.double("uptime_seconds"), cpuSeconds: try fields.optionalDouble("cpu_seconds"),
            messagesIn: try fields.unsigned("messages_in"), messagesOut: try fields.unsigned("messages_out"),
            mailboxDepth: try fields.int("mailbox_depth"), mailboxLimit: try fields.int("mailbox_limit"),
            sendersWaiting: try fields.int("senders_waiting"), lastError: try fields.optionalString("last_error"),
            inference: try fields.optionalObject("inference").map { fields throws(JSONShapeError) in try InferenceUse(fields) })
        isolation = try fields.optionalString("isolation") ?? "thread"
        host = try fields.optionalObject("host").map { host throws(JSONShapeError) in
            HostRow(
                pid: try host.optionalDouble("pid") == nil ? nil : try host.int("pid"), restarts: try host.int("restarts"),
                crashes: try host.int("crashes"), lastCrash: try host.optionalString("last_crash"))
        }
    }

    /// Keys in sorted order, the way `ControlJSON` writes the other wire types.
    fileprivate func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("cpu_seconds", cpuSeconds)
        writer.key("host")
        if let host {
            writer.beginObject()
            writer.member("crashes", host.crashes)
            writer.member("last_crash", host.lastCrash)
            if let pid = host.pid {
                writer.member("pid", pid)
            } else {
                writer.key("pid")
                writer.null()
            }
            writer.member("restarts", host.restarts)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.member("id", id)
        writer.key("inference")
        if let inference {
            inference.write(to: &writer)
        } else {
            writer.null()
        }
        writer.member("isolation", isolation)
        writer.member("last_error", lastError)
        writer.member("mailbox_depth", mailboxDepth)
        writer.member("mailbox_limit", mailboxLimit)
        writer.member("messages_in", messagesIn)
        writer.member("messages_out", messagesOut)
        writer.member("name", name)
        writer.member("origin", origin)
        writer.member("plugin", plugin)
        writer.member("senders_waiting", sendersWaiting)
        writer.member("state", state)
        writer.member("uptime_seconds", uptimeSeconds)
        writer.endObject()
    }
}

extension InferenceUse {
    /// The same keys `Codable` gives it in `InstanceInfo` (a test holds the two together).
    fileprivate init(_ fields: JSONFields) throws(JSONShapeError) {
        self.init(
            requests: try fields.unsigned("requests"), completed: try fields.unsigned("completed"),
            failed: try fields.unsigned("failed"), cancelled: try fields.unsigned("cancelled"),
            inFlight: try fields.int("in_flight"), promptTokens: try fields.unsigned("prompt_tokens"),
            cachedPromptTokens: try fields.unsigned("cached_prompt_tokens"),
            completionTokens: try fields.unsigned("completion_tokens"), meanQueueMs: try fields.double("mean_queue_ms"),
            meanTimeToFirstTokenMs: try fields.double("mean_time_to_first_token_ms"),
            meanDecodeMs: try fields.double("mean_decode_ms"))
    }

    fileprivate func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("cached_prompt_tokens", cachedPromptTokens)
        writer.member("cancelled", cancelled)
        writer.member("completed", completed)
        writer.member("completion_tokens", completionTokens)
        writer.member("failed", failed)
        writer.member("in_flight", inFlight)
        writer.member("mean_decode_ms", meanDecodeMs)
        writer.member("mean_queue_ms", meanQueueMs)
        writer.member("mean_time_to_first_token_ms", meanTimeToFirstTokenMs)
        writer.member("prompt_tokens", promptTokens)
        writer.member("requests", requests)
        writer.endObject()
    }
}
