import CAgentOS
import Glibc
import Tools

/// The `aos_kernel_api` table every instance receives: C entry points that
/// find the calling instance from its `aos_ctx *` and hand over to the kernel.
/// No Swift error crosses it; every path returns an `aos_status`.
enum Syscalls {
    /// Longest log line kept, in bytes; longer ones are cut and marked.
    static let maxLogLineBytes = 4096

    /// The one table, shared by all instances and never freed.
    nonisolated(unsafe) static let table: UnsafePointer<aos_kernel_api> = {
        let table = UnsafeMutablePointer<aos_kernel_api>.allocate(capacity: 1)
        table.initialize(to: aos_kernel_api(
            struct_size: UInt32(MemoryLayout<aos_kernel_api>.size),
            abi_major: UInt16(AOS_ABI_MAJOR),
            abi_minor: UInt16(AOS_ABI_MINOR),
            send: { context, to, body, timeoutMs in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .send, instance.kernel.send(from: instance, to: to, body: body, timeoutMs: timeoutMs))
            },
            call: { context, to, body, timeoutMs, reply in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard let reply else { return counted(instance, .call, .invalidArgument) }
                return counted(instance, .call, instance.kernel.call(from: instance, to: to, body: body, timeoutMs: timeoutMs, reply: reply))
            },
            reply: { context, requestID, body in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard instance.isOwnThread else { return counted(instance, .reply, .wrongThread) }
                return counted(instance, .reply, instance.kernel.reply(from: instance, requestID: requestID, body: body))
            },
            log: { context, level, text in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard let text, let level = logLevel(level) else { return counted(instance, .log, .invalidArgument) }
                instance.log.append(level, .plugin, logText(text))
                return counted(instance, .log, .ok)
            },
            now: { context, clock, nanoseconds in
                let status: AOSStatus
                switch (UInt32(clock), nanoseconds) {
                case (AOS_CLOCK_REALTIME, let nanoseconds?):
                    nanoseconds.pointee = realtimeNanos()
                    status = .ok
                case (AOS_CLOCK_MONOTONIC, let nanoseconds?):
                    nanoseconds.pointee = monotonicNanos()
                    status = .ok
                default:
                    status = .invalidArgument
                }
                guard let instance = Instance.from(context) else { return status.rawValue }
                return counted(instance, .now, status)
            },
            self: { context, info in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard let info else { return counted(instance, .self, .invalidArgument) }
                let required = MemoryLayout<aos_self_info>.offset(of: \aos_self_info.name)! + MemoryLayout<UnsafePointer<CChar>>.size
                guard Int(info.pointee.struct_size) >= required else { return counted(instance, .self, .invalidArgument) }
                info.pointee.instance_id = instance.id
                info.pointee.name = UnsafePointer(instance.identity.cName)
                let full = MemoryLayout<aos_self_info>.offset(of: \aos_self_info.reserved2)!
                if Int(info.pointee.struct_size) >= full {
                    info.pointee.max_message_bytes = UInt64(instance.kernel.configuration.maxMessageBytes)
                    info.pointee.mailbox_capacity = UInt32(instance.mailbox.capacity)
                }
                return counted(instance, .self, .ok)
            },
            release: { _, buffer in
                guard let buffer else { return }
                free(buffer.pointee.ptr)
                buffer.pointee = aos_buffer(ptr: nil, len: 0)
            },
            infer: { context, request, result in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .infer, instance.kernel.infer(
                    from: instance, request: request, result: result, onToken: nil, user: nil, streaming: false))
            },
            infer_stream: { context, request, onToken, user, result in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .inferStream, instance.kernel.infer(
                    from: instance, request: request, result: result, onToken: onToken, user: user, streaming: true))
            },
            infer_submit: { context, request, requestID in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .inferSubmit, instance.kernel.inferSubmit(from: instance, request: request, requestID: requestID))
            },
            infer_cancel: { context, requestID in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .inferCancel, instance.kernel.inferCancel(from: instance, requestID: requestID))
            },
            tool_call: { context, tool, arguments, timeoutMs, result in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard let result else { return counted(instance, .toolCall, .invalidArgument) }
                return counted(instance, .toolCall, instance.kernel.toolCall(
                    from: instance, tool: tool, arguments: arguments, timeoutMs: timeoutMs, result: result))
            },
            tools_list: { context, pattern, json in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard let json else { return counted(instance, .toolsList, .invalidArgument) }
                return counted(instance, .toolsList, instance.kernel.toolsList(for: instance, pattern: pattern, json: json))
            },
            tool_error: { _, message in
                guard let message else { return AOS_EINVAL }
                return CurrentToolCall.fail(message) ? AOS_OK : AOS_ENOTFOUND
            },
            call_delegate: { context, to, body, caps, count, timeoutMs, reply in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard let reply else { return counted(instance, .callDelegate, .invalidArgument) }
                return counted(instance, .callDelegate, instance.kernel.callDelegate(
                    from: instance, to: to, body: body, capabilities: caps, count: count, timeoutMs: timeoutMs, reply: reply))
            },
            plugin_load: { context, path, name, config in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .pluginLoad, instance.kernel.pluginLoad(from: instance, path: path, name: name, config: config))
            },
            plugin_unload: { context, name in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return counted(instance, .pluginUnload, instance.kernel.pluginUnload(from: instance, name: name))
            },
            last_error: { _ in LastError.cString() }
        ))
        return UnsafePointer(table)
    }()

    /// Counts the call in `agentos_syscalls_total` and returns its status for the plugin.
    @inline(__always)
    private static func counted(_ instance: Instance, _ syscall: Syscall, _ status: AOSStatus) -> aos_status {
        instance.metrics.count(syscall, status)
        return status.rawValue
    }

    private static func logLevel(_ level: UInt32) -> InstanceLogLine.Level? {
        switch level {
        case AOS_LOG_DEBUG: .debug
        case AOS_LOG_INFO: .info
        case AOS_LOG_WARN: .warn
        case AOS_LOG_ERROR: .error
        default: nil
        }
    }

    /// The text of a log line: invalid UTF-8 replaced with U+FFFD, cut at `maxLogLineBytes`.
    private static func logText(_ text: UnsafePointer<CChar>) -> String {
        let length = strlen(text)
        let kept = min(length, maxLogLineBytes)
        let line = text.withMemoryRebound(to: UInt8.self, capacity: kept) {
            String(decoding: UnsafeBufferPointer(start: $0, count: kept), as: UTF8.self)
        }
        return kept < length ? line + " …[cut \(length - kept) bytes]" : line
    }
}
