import CAgentOS
import Foundation
import Tools
import StrictJSON
import Synchronization

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

extension Kernel {
    /// What `agentctl tools` and `tools_list` show: every tool matching `patterns` (all when empty).
    public func toolDescriptions(matching patterns: [String] = []) -> [ToolDescription] {
        tools.matching(patterns.isEmpty ? ["*"] : patterns).map { entry in
            ToolDescription(
                name: entry.name, description: entry.tool.description, parameters: entry.tool.parametersSchema,
                returns: entry.tool.returns.name, threadSafe: entry.tool.isThreadSafe, plugin: entry.instance.name,
                calls: entry.stats.calls.load(ordering: .relaxed), failures: entry.stats.failures.load(ordering: .relaxed),
                totalSeconds: Double(entry.stats.totalNanos.load(ordering: .relaxed)) / 1e9)
        }
    }

    /// Calls tool `name` with `arguments` (JSON text of an object; nil or empty for none),
    /// blocking the calling thread.
    ///
    /// A thread-safe tool runs on the calling thread; any other is queued on its
    /// plugin's thread and waited for until `deadline` (monotonic ns; nil = no
    /// limit), or until `waiter` (the calling instance, if any) is unloaded.
    /// Returns the result as JSON text, or a `KernelError`: `.toolNotFound`,
    /// `.invalidToolArguments`, `.tooBig`, `.toolFailed` (message: the tool's
    /// own), `.timedOut` (the plugin is then marked hung), `.full`, `.stopping`.
    public func callTool(
        _ name: String, arguments: String?, deadline: UInt64?, waiter: Instance? = nil
    ) -> ToolCallRecord {
        let started = monotonicNanos()
        let argumentsText = arguments.flatMap { $0.isEmpty ? nil : $0 } ?? "{}"
        let outcome = runTool(name, argumentsText, deadline: deadline, waiter: waiter)
        return ToolCallRecord(tool: name, arguments: argumentsText, outcome: outcome, durationNanos: monotonicNanos() &- started)
    }

    private func runTool(_ name: String, _ argumentsText: String, deadline: UInt64?, waiter: Instance?) -> Result<String, KernelError> {
        guard let entry = tools.lookup(name) else {
            return .failure(KernelError(.toolNotFound, "no tool named \(name.prefix(128)) (see `agentctl tools`)"))
        }
        guard argumentsText.utf8.count <= configuration.maxMessageBytes else {
            return .failure(KernelError(.tooBig, "the arguments of \(name) are \(argumentsText.utf8.count) bytes; the limit is \(configuration.maxMessageBytes)"))
        }
        let arguments: ToolArguments
        do { arguments = try entry.tool.arguments(fromJSON: argumentsText) } catch {
            let refusal = KernelError(.invalidToolArguments, "\(name): \(error.message)")
            entry.stats.refused(refusal)
            return .failure(refusal)
        }
        let started = monotonicNanos()
        let outcome = entry.tool.isThreadSafe
            ? callInline(entry, arguments)
            : callQueued(entry, arguments, deadline: deadline, waiter: waiter)
        switch outcome {
        case .failure(let error) where error.code == .stopping || error.code == .full:
            entry.stats.refused(error)  // never ran
        case .failure(let error):
            entry.stats.record(nanos: monotonicNanos() &- started, error: error)
        case .success:
            entry.stats.record(nanos: monotonicNanos() &- started, error: nil)
        }
        return outcome
    }

    /// Runs a thread-safe tool on the calling thread, holding its library open.
    private func callInline(_ entry: ToolRegistry.Entry, _ arguments: ToolArguments) -> Result<String, KernelError> {
        guard entry.instance.toolGate.enter() else {
            return .failure(KernelError(.stopping, "the plugin of \(entry.name) is being unloaded"))
        }
        defer { entry.instance.toolGate.leave() }
        return entry.tool.call(arguments).mapError { KernelError(.toolFailed, $0.message) }
    }

    /// Queues the call on the tool plugin's thread and waits for it.
    private func callQueued(
        _ entry: ToolRegistry.Entry, _ arguments: ToolArguments, deadline: UInt64?, waiter: Instance?
    ) -> Result<String, KernelError> {
        let queuedAt = monotonicNanos()
        let id = mintMessageID()
        let lock = waiter?.parker ?? ConditionLock()
        let pending = Pending<Result<String, KernelError>>(requestID: id, lock: lock)
        let job = ToolCallJob(entry: entry, arguments: arguments, pending: pending)
        let envelope = Envelope(id: id, sender: waiter?.identity ?? .kernel, body: [], pendingReply: nil, toolCall: job)
        switch entry.instance.mailbox.push(envelope, until: nil) {
        case .ok: entry.instance.messagesIn.add(1, ordering: .relaxed)
        case .full: return .failure(KernelError(.full, "the queue of \(entry.instance.name) is full (\(entry.instance.mailbox.capacity) calls); retry later"))
        default: return .failure(KernelError(.stopping, "the plugin of \(entry.name) is being unloaded"))
        }
        var outcome: Result<String, KernelError>?
        if let waiter {
            if waiter.beginWait(on: lock) {
                outcome = pending.wait(until: deadline) { waiter.stopRequested.load(ordering: .relaxed) }
                waiter.endWait()
            }
        } else {
            outcome = pending.wait(until: deadline) { false }
        }
        if let outcome { return outcome }
        if waiter?.stopRequested.load(ordering: .relaxed) == true {
            _ = pending.complete(.failure(KernelError(.stopping, "the caller was unloaded")))
            return .failure(KernelError(.stopping, "\(waiter!.name) is being unloaded"))
        }
        // Timed out: whatever the tool returns later is dropped.
        let timedOut = KernelError(.timedOut, "the caller stopped waiting")
        if pending.complete(.failure(timedOut)) {
            let waited = monotonicNanos() &- queuedAt
            let seconds = String(format: "%.3g", Double(waited) / 1e9)
            // The plugin is hung when this call started and has not returned, or when the call it
            // runs began before this one was queued; otherwise it is only busy with earlier calls.
            let running = entry.instance.handlerStartedAt.load(ordering: .relaxed)
            guard job.startedAt.load(ordering: .relaxed) != 0 || (running != 0 && running <= queuedAt) else {
                return .failure(KernelError(.timedOut, "\(entry.name) did not start within \(seconds) s: its plugin is busy with earlier calls"))
            }
            let reason = "a tool call has run for \(seconds) s (\(entry.tool.name) timed out waiting for it)"
            if entry.instance.transition(from: .running, to: .hung, error: reason) {
                entry.instance.log.append(.error, .kernel, "hung: \(reason)")
                logger.error("tool hung", metadata: ["tool": "\(entry.name)", "timeout_s": "\(seconds)"])
            }
            return .failure(KernelError(.timedOut, "\(entry.name) did not return within \(seconds) s; its plugin is marked hung"))
        }
        return pending.outcome(orElse: .failure(timedOut))
    }

    /// Runs a queued call on the tool plugin's own thread (from `InstanceRunner`).
    func run(_ job: ToolCallJob, on instance: Instance) {
        guard !job.pending.isCompleted else {
            instance.log.append(.warn, .kernel, "skipped a call of \(job.entry.tool.name): its caller gave up before it started")
            return
        }
        job.startedAt.store(monotonicNanos(), ordering: .relaxed)
        job.pending.complete(job.entry.tool.call(job.arguments).mapError { KernelError(.toolFailed, $0.message) })
    }
}

/// A tool as `agentctl tools` and `tools_list` describe it.
public struct ToolDescription: Sendable {
    public let name: String
    public let description: String
    /// The JSON Schema of its arguments object.
    public let parameters: JSONValue
    public let returns: String
    public let threadSafe: Bool
    /// The instance that provides it.
    public let plugin: String
    public let calls: UInt64
    public let failures: UInt64
    public let totalSeconds: Double

    /// The OpenAI function-tool shape: {"type": "function", "function": {name, description, parameters}}.
    public var openAIFunction: JSONValue {
        .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string(name)), ("description", .string(description)), ("parameters", parameters),
            ])),
        ])
    }
}

// MARK: - Syscalls

extension Kernel {
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
        let handlerStart = instance.handlerStartedAt.exchange(0, ordering: .relaxed)
        let record = callTool(
            name, arguments: argumentsText,
            deadline: timeoutMs == AOS_FOREVER ? nil : deadline(afterMilliseconds: timeoutMs), waiter: instance)
        if handlerStart != 0 {
            instance.handlerStartedAt.store(handlerStart &+ record.durationNanos, ordering: .relaxed)
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
        return error.status
    }
}

extension aos_buffer {
    /// A malloc'd copy of `text`'s UTF-8 (ptr never NULL); nil when out of memory.
    init?(copying text: String) {
        var text = text
        let copy: UnsafeMutablePointer<UInt8>? = text.withUTF8 { bytes in
            guard let buffer = malloc(max(bytes.count, 1))?.assumingMemoryBound(to: UInt8.self) else { return nil }
            if let base = bytes.baseAddress { buffer.update(from: base, count: bytes.count) }
            return buffer
        }
        guard let copy else { return nil }
        self.init(ptr: copy, len: text.utf8.count)
    }
}
