import Synchronization
import Tools

/// A tool call queued for a tool plugin's thread.
final class ToolCallJob: Sendable {
    let entry: ToolRegistry.Entry
    let arguments: ToolArguments
    let pending: Pending<Result<String, KernelError>>
    /// Monotonic ns when the plugin's thread began the call; 0 while queued.
    let startedAt = Atomic<UInt64>(0)

    init(entry: ToolRegistry.Entry, arguments: ToolArguments, pending: Pending<Result<String, KernelError>>) {
        self.entry = entry
        self.arguments = arguments
        self.pending = pending
    }
}
