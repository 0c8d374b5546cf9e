import CAgentOS
import StrictJSON
import Tools

extension ToolService {
    /// `tool_call`, on the calling instance's own thread.
    func toolCall(
        from instance: Instance, tool: UnsafePointer<CChar>?, arguments: UnsafePointer<CChar>?, timeoutMs: UInt32,
        result: UnsafeMutablePointer<aos_buffer>
    ) -> AOSStatus {
        result.pointee = aos_buffer(ptr: nil, len: 0)
        guard instance.isOwnThread else { return .wrongThread }
        guard !instance.stopRequested.load(ordering: .relaxed) else { return .stopping }
        guard let tool else { return refuseToolCall(instance, KernelError(.invalidArgument, "tool is NULL")) }
        guard let name = String(validatingCString: tool) else {
            return refuseToolCall(instance, KernelError(.invalidArgument, "the tool name is not valid UTF-8"))
        }
        var argumentsText: String?
        if let arguments {
            guard let text = String(validatingCString: arguments) else {
                return refuseToolCall(instance, KernelError(.invalidToolArguments, "\(name): args_json is not valid UTF-8"))
            }
            argumentsText = text
        }
        guard instance.mayCallTool(name, .toolCall) else { return .permissionDenied }
        guard let wait = instance.admitToolCall() else {
            instance.refuseQuota("tool_calls_per_minute", syscall: Syscall.toolCall.name, reason: instance.toolRateRefusal)
            return .quotaExceeded
        }
        guard instance.sleepForQuota(wait) else { return .stopping }
        // Waiting on a tool is not the handler's own time: pause its deadline.
        let handlerStart = instance.handlerStartedAt.exchange(0)
        let record = callTool(
            name, arguments: argumentsText,
            deadline: timeoutMs == AOS_FOREVER ? nil : deadline(afterMilliseconds: timeoutMs), waiter: instance)
        if handlerStart != 0 {
            instance.handlerStartedAt.store(handlerStart &+ record.durationNanos)
        }
        switch record.outcome {
        case .success(let json):
            guard let buffer = aos_buffer(copying: json) else { return .outOfMemory }
            result.pointee = buffer
            return .ok
        case .failure(let error) where error.code == .toolFailed:
            instance.log.append(.info, .kernel, "tool_call \(name): the tool failed: \(error.message)")
            result.pointee = aos_buffer(copying: error.message) ?? aos_buffer(ptr: nil, len: 0)
            return .toolFailed
        case .failure(let error):
            return refuseToolCall(instance, error)
        }
    }

    /// `tools_list`: only the tools `instance` may call (what it is lent counts on its own thread).
    func toolsList(for instance: Instance, pattern: UnsafePointer<CChar>?, json: UnsafeMutablePointer<aos_buffer>) -> AOSStatus {
        json.pointee = aos_buffer(ptr: nil, len: 0)
        var patterns: [String] = []
        if let pattern {
            guard let text = String(validatingCString: pattern) else { return .invalidArgument }
            patterns = [text]
        }
        let ownThread = instance.isOwnThread
        let callable = toolDescriptions(matching: patterns).filter { tool in
            !instance.checksPolicy
                || (ownThread ? instance.permitsTool(tool.name) : instance.grants.withLock { $0.permitsTool(tool.name) })
        }
        let list = JSONValue.array(callable.map(\.openAIFunction))
        guard let buffer = aos_buffer(copying: list.jsonText) else { return .outOfMemory }
        json.pointee = buffer
        return .ok
    }

    private func refuseToolCall(_ instance: Instance, _ error: KernelError) -> AOSStatus {
        instance.log.append(.warn, .kernel, "tool_call: \(error.message) (\(error.status.name))")
        LastError.record(error.message)
        return error.status
    }
}
