/// What one tool call produced, for the caller and for traces.
public struct ToolCallRecord: Sendable, Equatable {
    /// The full tool name.
    public let tool: String
    /// The arguments as JSON text, as given.
    public let arguments: String
    /// The result as JSON text, or why the call failed.
    public let outcome: Result<String, KernelError>
    public let durationNanos: UInt64
}
