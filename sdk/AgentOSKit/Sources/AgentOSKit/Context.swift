import CAgentOSKit

/// An instance's handle on the kernel: its syscalls (agentos.h) as methods.
///
/// Each method copies what it passes in and what it gets back, and releases
/// every kernel buffer itself, exactly once; none hands out a pointer. A
/// failed syscall throws an `AgentOSError` with its status and the kernel's
/// reason (`last_error`).
/// Thread: as agentos.h says of each syscall. Most (send, call, reply, infer,
/// tool calls) only on the instance's own thread, the one that runs
/// `init`, `handle` and `stop`; `log`, `now`, `instance` and `cancel` on any.
public struct Context: @unchecked Sendable {
    // @unchecked: two pointers the kernel keeps valid until stop returns; which
    // thread may use them is the syscalls' rule, checked by the kernel.
    let ctx: OpaquePointer?
    let api: UnsafePointer<aos_kernel_api>

    init(ctx: OpaquePointer?, api: UnsafePointer<aos_kernel_api>) {
        self.ctx = ctx
        self.api = api
    }

    /// A timeout that never expires (AOS_FOREVER).
    public static let forever = Duration.milliseconds(Int64(AOS_FOREVER))

    /// The ABI version of the kernel's syscall table, e.g. (1, 6).
    public var kernelABI: (major: Int, minor: Int) { (Int(api.pointee.abi_major), Int(api.pointee.abi_minor)) }

    /// Sends `text` to the agent `to`. Waits up to `timeout` for room in its mailbox (`.zero`: never).
    /// Throws `.notFound`, `.full`, `.permissionDenied` (needs send:`to`), `.tooBig`, `.stopping`.
    public func send(to: String, _ text: String, timeout: Duration = .zero) throws(AgentOSError) {
        try send(to: to, bytes: Array(text.utf8), timeout: timeout)
    }

    /// Sends `bytes` to the agent `to`, as `send(to:_:timeout:)`.
    public func send(to: String, bytes: [UInt8], timeout: Duration = .zero) throws(AgentOSError) {
        let status = bytes.withUnsafeBufferPointer { buffer in
            to.withCString { api.pointee.send(ctx, $0, aos_bytes(ptr: buffer.baseAddress, len: buffer.count), milliseconds(timeout)) }
        }
        try check(status)
    }

    /// Sends `text` as a request to the agent `to` and waits up to `timeout` for its reply.
    /// Throws as `send`, and `.timedOut`, `.handlerFailed` (its handler failed without replying).
    public func call(_ to: String, _ text: String, timeout: Duration = .seconds(30)) throws(AgentOSError) -> String {
        String(decoding: try call(to, bytes: Array(text.utf8), timeout: timeout), as: UTF8.self)
    }

    /// Sends `bytes` as a request to `to` and returns the reply's bytes, as `call(_:_:timeout:)`.
    public func call(_ to: String, bytes: [UInt8], timeout: Duration = .seconds(30)) throws(AgentOSError) -> [UInt8] {
        var reply = aos_buffer()
        let status = bytes.withUnsafeBufferPointer { buffer in
            to.withCString { api.pointee.call(ctx, $0, aos_bytes(ptr: buffer.baseAddress, len: buffer.count), milliseconds(timeout), &reply) }
        }
        try check(status)
        return take(&reply)
    }

    /// Answers `request` (a message with `isRequest`) with `text`. Once per request,
    /// during `handle` or later. Throws `.notFound` (not a request, already answered,
    /// or its caller gave up), `.tooBig`, `.stopping`.
    public func reply(to request: Message, _ text: String) throws(AgentOSError) {
        try reply(to: request, bytes: Array(text.utf8))
    }

    /// Answers `request` with `bytes`, as `reply(to:_:)`.
    public func reply(to request: Message, bytes: [UInt8]) throws(AgentOSError) {
        let status = bytes.withUnsafeBufferPointer { api.pointee.reply(ctx, request.id, aos_bytes(ptr: $0.baseAddress, len: $0.count)) }
        try check(status)
    }

    /// Writes one line to this instance's log (`agentctl logs NAME`). Never fails.
    /// Thread: any. `logger` gives the same log through swift-log.
    public func log(_ level: LogLevel, _ text: String) {
        _ = api.pointee.log(ctx, level.rawValue, text)
    }

    /// A clock's time in nanoseconds: since the Unix epoch (`.realtime`) or an arbitrary start (`.monotonic`).
    /// Thread: any.
    public func now(_ clock: KernelClock = .realtime) -> UInt64 {
        var ns: UInt64 = 0
        _ = api.pointee.now(ctx, clock.rawValue, &ns)
        return ns
    }

    /// This instance: its id, name and the kernel's limits for it. Thread: any.
    public func instance() throws(AgentOSError) -> InstanceInfo {
        var info = aos_self_info()
        info.struct_size = UInt32(MemoryLayout<aos_self_info>.size)
        try check(api.pointee.`self`(ctx, &info))
        return InstanceInfo(
            id: info.instance_id, name: info.name.map { String(cString: $0) } ?? "",
            maxMessageBytes: Int(info.max_message_bytes), mailboxCapacity: Int(info.mailbox_capacity))
    }

    // MARK: - The ABI's rules, in one place

    /// Throws, with the kernel's reason, unless `status` is AOS_OK.
    func check(_ status: aos_status) throws(AgentOSError) {
        guard status != AOS_OK else { return }
        throw AgentOSError(Status(rawValue: status), reason())
    }

    /// Why this thread's last syscall failed (ABI 1.4), or "" from an older kernel.
    func reason() -> String {
        guard has(\.last_error), let text = api.pointee.last_error(ctx) else { return "" }
        return String(cString: text)
    }

    /// Whether the kernel's table has `field` (AOS_API_HAS).
    func has<Field>(_ field: KeyPath<aos_kernel_api, Field>) -> Bool {
        guard let offset = MemoryLayout<aos_kernel_api>.offset(of: field) else { return false }
        return Int(api.pointee.struct_size) >= offset + MemoryLayout<Field>.size
    }

    /// Throws `.abiMismatch` when the kernel is older than the ABI that added `syscall`.
    func require<Field>(_ field: KeyPath<aos_kernel_api, Field>, _ syscall: String, since minor: Int) throws(AgentOSError) {
        guard has(field) else {
            throw AgentOSError(.abiMismatch, "the kernel speaks ABI \(kernelABI.major).\(kernelABI.minor); \(syscall) needs 1.\(minor)")
        }
    }

    /// Copies a kernel buffer's bytes and releases it (the caller owned it).
    func take(_ buffer: inout aos_buffer) -> [UInt8] {
        defer { api.pointee.release(ctx, &buffer) }
        guard let pointer = buffer.ptr else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: buffer.len))
    }

    /// A kernel buffer as text, released.
    func takeText(_ buffer: inout aos_buffer) -> String {
        String(decoding: take(&buffer), as: UTF8.self)
    }
}

/// Milliseconds for the ABI: AOS_FOREVER and above mean no limit.
func milliseconds(_ duration: Duration) -> UInt32 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0 else { return 0 }
    let ms = seconds.multipliedReportingOverflow(by: 1000)
    guard !ms.overflow else { return AOS_FOREVER }
    let total = ms.partialValue + attoseconds / 1_000_000_000_000_000
    return total >= Int64(AOS_FOREVER) ? AOS_FOREVER : UInt32(total)
}

/// Levels of `Context.log` (AOS_LOG_*).
public enum LogLevel: UInt32, Sendable {
    case debug = 10, info = 20, warn = 30, error = 40
}

/// Clocks of `Context.now` (AOS_CLOCK_*).
public enum KernelClock: UInt32, Sendable {
    case realtime = 0, monotonic = 1
}

/// What `Context.instance()` reports.
public struct InstanceInfo: Sendable, Hashable {
    /// Unique in this kernel's run, never reused.
    public var id: UInt64
    public var name: String
    /// The largest body send, call and reply accept.
    public var maxMessageBytes: Int
    /// Messages this instance's mailbox holds.
    public var mailboxCapacity: Int
}
