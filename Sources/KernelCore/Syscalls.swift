import CAgentOS
import Glibc
import Tools

/// The `aos_kernel_api` table every instance receives: C entry points that
/// look the calling instance up from its `aos_ctx *` handle (`ContextTable`:
/// a stale handle gets AOS_ESTOPPING, a forged one AOS_EINVAL) and hand over
/// to the service that owns the call. No Swift error crosses it; every path
/// returns an `aos_status`, counted in `agentos_syscalls_total`.
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
                dispatch(context, .send) { instance in
                    return instance.services.messages { $0.send(from: instance, to: to, body: body, timeoutMs: timeoutMs) }
                }
            },
            call: { context, to, body, timeoutMs, reply in
                dispatch(context, .call) { instance in
                    guard let reply else { return .invalidArgument }
                    return instance.services.messages { $0.call(from: instance, to: to, body: body, timeoutMs: timeoutMs, reply: reply) }
                }
            },
            reply: { context, requestID, body in
                dispatch(context, .reply) { instance in
                    guard instance.isOwnThread else { return .wrongThread }
                    return instance.services.messages { $0.reply(from: instance, requestID: requestID, body: body) }
                }
            },
            log: { context, level, text in
                dispatch(context, .log) { instance in
                    guard let text, let level = logLevel(level) else { return .invalidArgument }
                    instance.log.append(level, .plugin, logText(text))
                    return .ok
                }
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
                guard context != nil else { return status.rawValue }
                return dispatch(context, .now) { _ in status }
            },
            self: { context, info in
                dispatch(context, .self) { instance in
                    guard let info else { return .invalidArgument }
                    let required = MemoryLayout<aos_self_info>.offset(of: \aos_self_info.name)! + MemoryLayout<UnsafePointer<CChar>>.size
                    guard Int(info.pointee.struct_size) >= required else { return .invalidArgument }
                    info.pointee.instance_id = instance.id
                    info.pointee.name = UnsafePointer(instance.identity.cName)
                    let full = MemoryLayout<aos_self_info>.offset(of: \aos_self_info.reserved2)!
                    if Int(info.pointee.struct_size) >= full {
                        info.pointee.max_message_bytes = UInt64(instance.maxMessageBytes)
                        info.pointee.mailbox_capacity = UInt32(instance.mailbox.capacity)
                    }
                    return .ok
                }
            },
            release: { _, buffer in
                guard let buffer else { return }
                free(buffer.pointee.ptr)
                buffer.pointee = aos_buffer(ptr: nil, len: 0)
            },
            infer: { context, request, result in
                dispatch(context, .infer) { instance in
                    return instance.services.inference { $0.infer(
                        from: instance, request: request, result: result, onToken: nil, user: nil, streaming: false) }
                }
            },
            infer_stream: { context, request, onToken, user, result in
                dispatch(context, .inferStream) { instance in
                    return instance.services.inference { $0.infer(
                        from: instance, request: request, result: result, onToken: onToken, user: user, streaming: true) }
                }
            },
            infer_submit: { context, request, requestID in
                dispatch(context, .inferSubmit) { instance in
                    return instance.services.inference { $0.inferSubmit(from: instance, request: request, requestID: requestID) }
                }
            },
            infer_cancel: { context, requestID in
                dispatch(context, .inferCancel) { instance in
                    return instance.services.inference { $0.inferCancel(from: instance, requestID: requestID) }
                }
            },
            tool_call: { context, tool, arguments, timeoutMs, result in
                dispatch(context, .toolCall) { instance in
                    guard let result else { return .invalidArgument }
                    return instance.services.tools { $0.toolCall(
                        from: instance, tool: tool, arguments: arguments, timeoutMs: timeoutMs, result: result) }
                }
            },
            tools_list: { context, pattern, json in
                dispatch(context, .toolsList) { instance in
                    guard let json else { return .invalidArgument }
                    return instance.services.tools { $0.toolsList(for: instance, pattern: pattern, json: json) }
                }
            },
            tool_error: { _, message in
                guard let message else { return AOS_EINVAL }
                return CurrentToolCall.fail(message) ? AOS_OK : AOS_ENOTFOUND
            },
            call_delegate: { context, to, body, caps, count, timeoutMs, reply in
                dispatch(context, .callDelegate) { instance in
                    guard let reply else { return .invalidArgument }
                    return instance.services.messages { $0.callDelegate(
                        from: instance, to: to, body: body, capabilities: caps, count: count, timeoutMs: timeoutMs, reply: reply) }
                }
            },
            plugin_load: { context, path, name, config in
                dispatch(context, .pluginLoad) { instance in
                    return instance.services.lifecycle { $0.pluginLoad(from: instance, path: path, name: name, config: config) }
                }
            },
            plugin_unload: { context, name in
                dispatch(context, .pluginUnload) { instance in
                    return instance.services.lifecycle { $0.pluginUnload(from: instance, name: name) }
                }
            },
            last_error: { _ in LastError.cString() },
            kv_get: { context, namespace, key, value, version in
                dispatch(context, .kvGet) { instance in
                    instance.services.storage { $0.kvGet(from: instance, namespace: namespace, key: key, value: value, version: version) }
                }
            },
            kv_put: { context, namespace, key, value, expected, newVersion in
                dispatch(context, .kvPut) { instance in
                    instance.services.storage {
                        $0.kvPut(from: instance, namespace: namespace, key: key, value: value, expected: expected, newVersion: newVersion)
                    }
                }
            },
            kv_delete: { context, namespace, key, expected in
                dispatch(context, .kvDelete) { instance in
                    instance.services.storage { $0.kvDelete(from: instance, namespace: namespace, key: key, expected: expected) }
                }
            },
            kv_list: { context, namespace, prefix, after, limit, json in
                dispatch(context, .kvList) { instance in
                    instance.services.storage {
                        $0.kvList(from: instance, namespace: namespace, prefix: prefix, after: after, limit: limit, json: json)
                    }
                }
            }
        ))
        return UnsafePointer(table)
    }()

    /// Runs `body` for the instance behind `context` while its handle is held,
    /// counts the call in `agentos_syscalls_total` and returns its status.
    /// A stale handle gets AOS_ESTOPPING, one the kernel never made AOS_EINVAL.
    @inline(__always)
    private static func dispatch(_ context: OpaquePointer?, _ syscall: Syscall, _ body: (Instance) -> AOSStatus) -> aos_status {
        switch ContextTable.shared.enter(context) {
        case .invalid:
            LastError.record("\(syscall.name): ctx is not a handle this kernel gave out")
            LastError.settle(.invalidArgument)
            return AOS_EINVAL
        case .stale:
            LastError.record("\(syscall.name): the instance of this ctx was unloaded")
            LastError.settle(.stopping)
            return AOS_ESTOPPING
        case .instance(let instance, let slot):
            defer { ContextTable.shared.leave(slot) }
            return instance._withUnsafeGuaranteedRef { instance in
                let status = body(instance)
                instance.metrics.count(syscall, status)
                LastError.settle(status)
                return status.rawValue
            }
        }
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
