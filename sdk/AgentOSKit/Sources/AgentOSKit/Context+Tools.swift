import CAgentOSKit

/// Tool calls (ABI 1.2). Thread: the instance's own, but for `tools(matching:)`.
extension Context {
    /// Calls the tool `name` ("INSTANCE.TOOL") with a JSON object of arguments and
    /// returns its result as JSON text. Throws `.toolFailed` with the tool's own
    /// message, `.invalidArgument` (an argument does not fit its signature),
    /// `.permissionDenied` (needs tool:`name`), `.notFound`, `.timedOut`, `.stopping`.
    public func callTool(_ name: String, arguments: String = "{}", timeout: Duration = .seconds(30)) throws(AgentOSError) -> String {
        try require(\.tool_call, "tool_call", since: 2)
        var result = aos_buffer()
        let status = name.withCString { name in
            arguments.withCString { api.pointee.tool_call(ctx, name, $0, milliseconds(timeout), &result) }
        }
        if status == AOS_ETOOL {
            throw AgentOSError(.toolFailed, takeText(&result))
        }
        try check(status)
        return takeText(&result)
    }

    /// The tools this instance may call whose names match `pattern` (a glob; nil for
    /// all), as a JSON array of OpenAI function tools. Thread: any.
    public func tools(matching pattern: String? = nil) throws(AgentOSError) -> String {
        try require(\.tools_list, "tools_list", since: 2)
        var json = aos_buffer()
        let status = pattern.map { $0.withCString { api.pointee.tools_list(ctx, $0, &json) } }
            ?? api.pointee.tools_list(ctx, nil, &json)
        try check(status)
        return takeText(&json)
    }
}
