/// `GET /v1/tools`: one loaded tool.
public struct ToolInfo: Codable, Sendable, Equatable {
    /// "PLUGIN.TOOL", e.g. "catalog.lookup_product".
    public var name: String
    public var description: String
    /// The JSON Schema of its arguments object, as JSON text.
    public var parameters: String
    /// The C type of its result: int32 … string or json.
    public var returns: String
    public var threadSafe: Bool
    /// A call the model makes in a tool loop waits for `agentctl runs approve|reject`.
    public var needsApproval: Bool
    /// The instance that provides it.
    public var plugin: String
    public var calls: UInt64
    public var failures: UInt64
    /// Mean duration of its calls, in milliseconds (0 before the first).
    public var meanMs: Double

    public init(
        name: String, description: String, parameters: String, returns: String, threadSafe: Bool, needsApproval: Bool = false,
        plugin: String, calls: UInt64, failures: UInt64, meanMs: Double
    ) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.returns = returns
        self.threadSafe = threadSafe
        self.needsApproval = needsApproval
        self.plugin = plugin
        self.calls = calls
        self.failures = failures
        self.meanMs = meanMs
    }
}

/// `POST /v1/tools/NAME/call`: call one tool.
public struct CallToolRequest: Codable, Sendable, Equatable {
    /// The arguments object as JSON text (checked by the kernel's strict reader); nil for none.
    public var arguments: String?
    /// How long to wait for a tool that runs on its plugin's thread; default 30 s.
    public var timeoutMs: UInt32?

    public init(arguments: String?, timeoutMs: UInt32? = nil) {
        self.arguments = arguments
        self.timeoutMs = timeoutMs
    }
}

/// The answer to `CallToolRequest`.
public struct CallToolResult: Codable, Sendable, Equatable {
    public var tool: String
    /// The result as JSON text.
    public var result: String
    public var durationMs: Double

    public init(tool: String, result: String, durationMs: Double) {
        self.tool = tool
        self.result = result
        self.durationMs = durationMs
    }
}

/// One tool call of a tool loop, in `InferResult.steps` and streamed as it happens.
public struct ToolStep: Codable, Sendable, Equatable {
    public var tool: String
    /// The arguments the model gave, as JSON text.
    public var arguments: String
    /// The tool's result as JSON text, or nil when the call failed.
    public var result: String?
    /// Why the call failed; the model read it as {"error": message}.
    public var error: ErrorBody.Detail?
    public var durationMs: Double

    public init(tool: String, arguments: String, result: String?, error: ErrorBody.Detail?, durationMs: Double) {
        self.tool = tool
        self.arguments = arguments
        self.result = result
        self.error = error
        self.durationMs = durationMs
    }
}
