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
                return instance.kernel.send(from: instance, to: to, body: body, timeoutMs: timeoutMs).rawValue
            },
            call: { context, to, body, timeoutMs, reply in
                guard let instance = Instance.from(context), let reply else { return AOS_EINVAL }
                return instance.kernel.call(from: instance, to: to, body: body, timeoutMs: timeoutMs, reply: reply).rawValue
            },
            reply: { context, requestID, body in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                guard instance.isOwnThread else { return AOS_EWRONGTHREAD }
                return instance.kernel.reply(from: instance, requestID: requestID, body: body).rawValue
            },
            log: { context, level, text in
                guard let instance = Instance.from(context), let text else { return AOS_EINVAL }
                guard let level = logLevel(level) else { return AOS_EINVAL }
                instance.log.append(level, .plugin, logText(text))
                return AOS_OK
            },
            now: { _, clock, nanoseconds in
                guard let nanoseconds else { return AOS_EINVAL }
                switch UInt32(clock) {
                case AOS_CLOCK_REALTIME: nanoseconds.pointee = realtimeNanos()
                case AOS_CLOCK_MONOTONIC: nanoseconds.pointee = monotonicNanos()
                default: return AOS_EINVAL
                }
                return AOS_OK
            },
            self: { context, info in
                guard let instance = Instance.from(context), let info else { return AOS_EINVAL }
                let required = MemoryLayout<aos_self_info>.offset(of: \aos_self_info.name)! + MemoryLayout<UnsafePointer<CChar>>.size
                guard Int(info.pointee.struct_size) >= required else { return AOS_EINVAL }
                info.pointee.instance_id = instance.id
                info.pointee.name = UnsafePointer(instance.identity.cName)
                let full = MemoryLayout<aos_self_info>.offset(of: \aos_self_info.reserved2)!
                if Int(info.pointee.struct_size) >= full {
                    info.pointee.max_message_bytes = UInt64(instance.kernel.configuration.maxMessageBytes)
                    info.pointee.mailbox_capacity = UInt32(instance.mailbox.capacity)
                }
                return AOS_OK
            },
            release: { _, buffer in
                guard let buffer else { return }
                free(buffer.pointee.ptr)
                buffer.pointee = aos_buffer(ptr: nil, len: 0)
            },
            infer: { context, request, result in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return instance.kernel.infer(
                    from: instance, request: request, result: result, onToken: nil, user: nil, streaming: false
                ).rawValue
            },
            infer_stream: { context, request, onToken, user, result in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return instance.kernel.infer(
                    from: instance, request: request, result: result, onToken: onToken, user: user, streaming: true
                ).rawValue
            },
            infer_submit: { context, request, requestID in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return instance.kernel.inferSubmit(from: instance, request: request, requestID: requestID).rawValue
            },
            infer_cancel: { context, requestID in
                guard let instance = Instance.from(context) else { return AOS_EINVAL }
                return instance.kernel.inferCancel(from: instance, requestID: requestID).rawValue
            },
            tool_call: { context, tool, arguments, timeoutMs, result in
                guard let instance = Instance.from(context), let result else { return AOS_EINVAL }
                return instance.kernel.toolCall(
                    from: instance, tool: tool, arguments: arguments, timeoutMs: timeoutMs, result: result
                ).rawValue
            },
            tools_list: { context, pattern, json in
                guard let instance = Instance.from(context), let json else { return AOS_EINVAL }
                return instance.kernel.toolsList(pattern: pattern, json: json).rawValue
            },
            tool_error: { _, message in
                guard let message else { return AOS_EINVAL }
                return CurrentToolCall.fail(message) ? AOS_OK : AOS_ENOTFOUND
            }
        ))
        return UnsafePointer(table)
    }()

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
