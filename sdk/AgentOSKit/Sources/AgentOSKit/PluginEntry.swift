import CAgentOSKit
import Glibc

/// Fills the plugin's descriptor (`aos_plugin`) from an `Agent` or `ToolPlugin`
/// type, and is the C side of its callbacks: init, on_message and stop turn
/// kernel pointers into Swift values, and every thrown error into a status and
/// a log line, so nothing Swift crosses the ABI.
///
/// `install` runs once, in the library's constructor, before the kernel reads
/// the descriptor and before any other thread can see this library; the
/// statics it sets are only read afterwards.
enum PluginEntry {
    /// Makes an instance of the agent type; set by `install(agent:)`.
    nonisolated(unsafe) private static var makeAgent: ((String, Context) throws -> AgentHost)?
    /// The tool plugin type; set by `install(tools:)`.
    nonisolated(unsafe) private static var toolPlugin: (any ToolPlugin.Type)?
    /// The tool plugin's context, from its init (a tool plugin's library is its own copy, so one).
    nonisolated(unsafe) private static var toolContext: Context?
    /// Kept for the library's life: the C functions of the tools.
    nonisolated(unsafe) private static var trampolines: [ToolTrampoline] = []

    static func install<A: Agent>(agent: A.Type) {
        let descriptor = fillHeader(kind: AOS_KIND_AGENT, A.plugin)
        makeAgent = { config, context in try TypedAgentHost<A>(config: config, context: context) }
        descriptor.pointee.`init` = { ctx, api, config, state in
            let context = Context(ctx: ctx, api: api!)
            return PluginEntry.status(context, "init") {
                let host = try PluginEntry.makeAgent!(config.map { String(cString: $0) } ?? "", context)
                state!.pointee = Unmanaged.passRetained(host).toOpaque()
            }
        }
        descriptor.pointee.on_message = { _, state, message in
            let host = Unmanaged<AgentHost>.fromOpaque(state!).takeUnretainedValue()
            return PluginEntry.status(host.context, "handler") { try host.handle(Message(message!)) }
        }
        descriptor.pointee.stop = { _, state in
            Unmanaged<AgentHost>.fromOpaque(state!).takeRetainedValue().stop()
        }
        if A.self is any ReloadableAgent.Type { installHandoff(descriptor) }
    }

    /// save and restore (ABI 1.12) for a `ReloadableAgent`: the saved bytes
    /// cross as a malloc'd copy the kernel frees.
    private static func installHandoff(_ descriptor: UnsafeMutablePointer<aos_plugin_descriptor>) {
        descriptor.pointee.save = { _, state, out in
            let host = Unmanaged<AgentHost>.fromOpaque(state!).takeUnretainedValue()
            return PluginEntry.status(host.context, "save") {
                guard let bytes = try host.save(), !bytes.isEmpty else { return }
                guard let copy = malloc(bytes.count)?.assumingMemoryBound(to: UInt8.self) else {
                    throw AgentOSError(.outOfMemory, "no memory for \(bytes.count) bytes of state")
                }
                bytes.withUnsafeBufferPointer { copy.initialize(from: $0.baseAddress!, count: bytes.count) }
                out!.pointee = aos_buffer(ptr: copy, len: bytes.count)
            }
        }
        descriptor.pointee.restore = { _, state, saved in
            let host = Unmanaged<AgentHost>.fromOpaque(state!).takeUnretainedValue()
            return PluginEntry.status(host.context, "restore") {
                try host.restore(saved.ptr.map { Array(UnsafeBufferPointer(start: $0, count: saved.len)) } ?? [])
            }
        }
    }

    static func install<T: ToolPlugin>(tools plugin: T.Type) {
        let descriptor = fillHeader(kind: AOS_KIND_TOOL, T.plugin)
        toolPlugin = plugin
        trampolines = T.tools.map(ToolTrampoline.init)
        let table = UnsafeMutablePointer<aos_tool>.allocate(capacity: max(trampolines.count, 1))
        for (index, trampoline) in trampolines.enumerated() {
            let tool = trampoline.tool
            let params = UnsafeMutablePointer<aos_tool_param>.allocate(capacity: max(tool.parameters.count, 1))
            for (position, parameter) in tool.parameters.enumerated() {
                params[position] = aos_tool_param(
                    name: copy(parameter.name), type: parameter.type, required: parameter.required ? 1 : 0,
                    description: parameter.description.map(copy))
            }
            let returnsText = tool.returns == AOS_TYPE_STRING || tool.returns == AOS_TYPE_JSON
            table[index] = aos_tool(
                name: copy(tool.name), description: copy(tool.description),
                fn: unsafeBitCast(trampoline.function, to: aos_tool_fn?.self), returns: tool.returns,
                flags: (tool.threadSafe ? AOS_TOOL_THREAD_SAFE : 0) | (tool.needsApproval ? AOS_TOOL_NEEDS_APPROVAL : 0), n_params: UInt32(tool.parameters.count), reserved: 0,
                params: params, json_schema: nil, free_result: returnsText ? { free($0) } : nil)
        }
        descriptor.pointee.tools = UnsafePointer(table)
        descriptor.pointee.n_tools = UInt32(trampolines.count)
        descriptor.pointee.`init` = { ctx, api, config, _ in
            let context = Context(ctx: ctx, api: api!)
            PluginEntry.toolContext = context
            return PluginEntry.status(context, "start") {
                try PluginEntry.toolPlugin!.start(config: config.map { String(cString: $0) } ?? "", context: context)
            }
        }
        descriptor.pointee.stop = { _, _ in
            PluginEntry.toolPlugin!.stop(context: PluginEntry.toolContext!)
        }
    }

    /// Fails the tool call running on this thread with `error`'s text (tool_error).
    static func failToolCall(_ error: any Error) {
        let message = (error as? ToolError)?.message ?? "\(error)"
        guard let context = toolContext else { return }
        _ = context.api.pointee.tool_error(nil, message)
    }

    /// Runs `body`: AOS_OK, or the status of what it threw, logged as "`what` failed: …".
    private static func status(_ context: Context, _ what: String, _ body: () throws -> Void) -> aos_status {
        do {
            try body()
            return AOS_OK
        } catch let error as AgentOSError where error.status != .ok {
            context.log(.error, "\(what) failed: \(error)")
            return error.status.rawValue
        } catch {
            context.log(.error, "\(what) failed: \(error)")
            return AOS_EHANDLER
        }
    }

    /// The descriptor with its handshake, identity and runtime set.
    private static func fillHeader(kind: UInt32, _ info: PluginInfo) -> UnsafeMutablePointer<aos_plugin_descriptor> {
        let descriptor = aoskit_descriptor()!
        descriptor.pointee.magic = AOS_PLUGIN_MAGIC
        descriptor.pointee.abi_major = UInt16(AOS_ABI_MAJOR)
        descriptor.pointee.abi_minor = UInt16(AOS_ABI_MINOR)
        descriptor.pointee.struct_size = UInt32(MemoryLayout<aos_plugin_descriptor>.size)
        descriptor.pointee.build_id = aos_build_id()
        descriptor.pointee.tool_size = UInt32(MemoryLayout<aos_tool>.stride)
        descriptor.pointee.param_size = UInt32(MemoryLayout<aos_tool_param>.stride)
        descriptor.pointee.runtime = aoskit_runtime()
        descriptor.pointee.kind = kind
        descriptor.pointee.name = copy(info.name)
        descriptor.pointee.version = copy(info.version)
        descriptor.pointee.description = copy(info.description)
        if !info.capabilities.isEmpty {
            let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: info.capabilities.count + 1)
            for (index, capability) in info.capabilities.enumerated() { list[index] = copy(capability) }
            list[info.capabilities.count] = nil
            descriptor.pointee.capabilities = UnsafePointer(list)
        }
        return descriptor
    }

    /// A C copy of `text` for the descriptor, kept for the library's life.
    private static func copy(_ text: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(text)!) }
}
