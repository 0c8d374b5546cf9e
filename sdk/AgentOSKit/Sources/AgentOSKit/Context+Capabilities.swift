import CAgentOSKit

/// Delegation and administration (ABI 1.3). Thread: the instance's own.
extension Context {
    /// `call`, lending the receiver `capabilities` (a subset of this instance's,
    /// e.g. "tool:catalog.lookup_product") while it handles this one request.
    /// Throws what `call` throws, and `.permissionDenied` when this instance does not
    /// hold one of them (nothing is sent).
    public func call(
        _ to: String, _ text: String, lending capabilities: [String], timeout: Duration = .seconds(30)
    ) throws(AgentOSError) -> String {
        try require(\.call_delegate, "call_delegate", since: 3)
        let strings = CStrings()
        var caps = capabilities.map { Optional(strings.copy($0)) }
        var reply = aos_buffer()
        var text = text
        let status = withExtendedLifetime(strings) { text.withUTF8 { body in
            caps.withUnsafeMutableBufferPointer { caps in
                to.withCString {
                    api.pointee.call_delegate(
                        ctx, $0, aos_bytes(ptr: body.baseAddress, len: body.count), UnsafePointer(caps.baseAddress), caps.count,
                        milliseconds(timeout), &reply)
                }
            }
        } }
        try check(status)
        return takeText(&reply)
    }

    /// Loads the plugin at `path` as a new instance (`name` nil: its descriptor's)
    /// and waits for its init. Needs "admin". Throws `.notFound`, `.invalidArgument`,
    /// `.abiMismatch`, `.exists`, `.handlerFailed` (its init failed), `.timedOut`.
    public func loadPlugin(at path: String, name: String? = nil, config: String? = nil) throws(AgentOSError) {
        try require(\.plugin_load, "plugin_load", since: 3)
        let strings = CStrings()
        let status = withExtendedLifetime(strings) {
            api.pointee.plugin_load(ctx, strings.copy(path), name.map(strings.copy), config.map(strings.copy))
        }
        try check(status)
    }

    /// Unloads the instance `name` and waits until it has stopped. Needs "admin".
    /// Throws `.notFound`, `.invalidArgument` (this instance itself), `.timedOut`.
    public func unloadPlugin(_ name: String) throws(AgentOSError) {
        try require(\.plugin_unload, "plugin_unload", since: 3)
        try check(name.withCString { api.pointee.plugin_unload(ctx, $0) })
    }
}
