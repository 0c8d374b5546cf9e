import KernelCore

extension Kernel {
    /// Calls `tool` and returns its JSON result, or throws the kernel's error.
    public func call(_ tool: String, _ arguments: String = "{}", timeoutMs: UInt32 = 10_000) throws -> String {
        try tools.callTool(tool, arguments: arguments, deadline: deadline(afterMilliseconds: timeoutMs)).outcome.get()
    }
}
