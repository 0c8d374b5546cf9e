import CAgentOS
import Dispatch
import KernelCore

/// Agents written in Swift as C-ABI functions, loaded without dlopen (see
/// `InProcessLoader`), so lifecycle logic can be tested in this process.
/// Integration tests use real `.so` files.
public enum InProcessPlugins {
    public typealias Handler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<aos_message>?) -> aos_status
    public typealias Init = @convention(c) (
        OpaquePointer?, UnsafePointer<aos_kernel_api>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> aos_status

    /// The state below, shared by every instance; guarded by `lock`.
    private static let lock = ConditionLock()
    /// The kernel's syscall table, as `init` hands it to every plugin.
    nonisolated(unsafe) private static var api: UnsafePointer<aos_kernel_api>?
    nonisolated(unsafe) private static var gates: [String: DispatchSemaphore] = [:]
    nonisolated(unsafe) private static var results: [String: AOSStatus] = [:]

    /// The gate a `gated` instance named `name` waits on: signal it to let one message through.
    public static func gate(_ name: String) -> DispatchSemaphore {
        lock.withLock {
            if let gate = gates[name] { return gate }
            let gate = DispatchSemaphore(value: 0)
            gates[name] = gate
            return gate
        }
    }

    /// The status a `caller` instance named `name` got from its call; nil before it returns.
    public static func result(_ name: String) -> AOSStatus? { lock.withLock { results[name] } }

    private static var kernel: aos_kernel_api { lock.withLock { api! }.pointee }

    private static func name(_ context: OpaquePointer?) -> String {
        var info = aos_self_info()
        info.struct_size = UInt32(MemoryLayout<aos_self_info>.size)
        _ = kernel.`self`(context, &info)
        return String(cString: info.name)
    }

    private static func text(_ message: UnsafePointer<aos_message>?) -> String {
        let body = message!.pointee.body
        return String(decoding: UnsafeRawBufferPointer(start: body.ptr, count: body.len), as: UTF8.self)
    }

    private static func reply(_ context: OpaquePointer?, _ message: UnsafePointer<aos_message>?, _ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBufferPointer { buffer in
            kernel.reply(context, message!.pointee.id, aos_bytes(ptr: buffer.baseAddress, len: buffer.count))
        }
    }

    /// Keeps the syscall table and succeeds.
    static let okInit: Init = { _, table, _, _ in
        lock.withLock { api = table }
        return AOS_OK
    }
    /// Fails with AOS_EPERM.
    static let failingInit: Init = { _, _, _, _ in AOS_EPERM }

    /// Replies with the body.
    static let echo: Handler = { context, _, message in
        if message!.pointee.flags & AOS_MSG_REQUEST != 0 { reply(context, message, text(message)) }
        return AOS_OK
    }
    /// Waits on the instance's gate, then replies "done".
    static let gated: Handler = { context, _, message in
        gate(name(context)).wait()
        if message!.pointee.flags & AOS_MSG_REQUEST != 0 { reply(context, message, "done") }
        return AOS_OK
    }
    /// Never replies.
    static let silent: Handler = { _, _, _ in AOS_OK }
    /// "call TARGET": calls TARGET with no time limit and records the status.
    static let caller: Handler = { context, _, message in
        let target = String(text(message).dropFirst(5))
        var reply = aos_buffer()
        let status = target.withCString { name in
            kernel.call(context, name, aos_bytes(ptr: nil, len: 0), AOS_FOREVER, &reply)
        }
        kernel.release(context, &reply)
        let me = name(context)
        lock.withLock { results[me] = AOSStatus(rawValue: status) }
        return AOS_OK
    }
}
