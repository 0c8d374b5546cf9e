import CAgentOS
import Dispatch
import Foundation
import KernelPOSIX
import Logging
@testable import KernelCore

/// Agents written in Swift as C-ABI descriptors, loaded without dlopen, so
/// lifecycle logic can be tested in-process. Integration tests use real `.so` files.
enum InProcessPlugins {
    /// Per-instance test hooks, by instance name.
    nonisolated(unsafe) static var gates: [String: DispatchSemaphore] = [:]
    nonisolated(unsafe) static var results: [String: AOSStatus] = [:]
    static let lock = ConditionLock()

    static func gate(_ name: String) -> DispatchSemaphore {
        lock.withLock {
            if let gate = gates[name] { return gate }
            let gate = DispatchSemaphore(value: 0)
            gates[name] = gate
            return gate
        }
    }

    static func result(_ name: String) -> AOSStatus? { lock.withLock { results[name] } }

    static func name(_ context: OpaquePointer?) -> String {
        var info = aos_self_info()
        info.struct_size = UInt32(MemoryLayout<aos_self_info>.size)
        _ = Syscalls.table.pointee.`self`(context, &info)
        return String(cString: info.name)
    }

    static func text(_ message: UnsafePointer<aos_message>?) -> String {
        let body = message!.pointee.body
        return String(decoding: UnsafeRawBufferPointer(start: body.ptr, count: body.len), as: UTF8.self)
    }

    static func reply(_ context: OpaquePointer?, _ message: UnsafePointer<aos_message>?, _ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBufferPointer { buffer in
            Syscalls.table.pointee.reply(context, message!.pointee.id, aos_bytes(ptr: buffer.baseAddress, len: buffer.count))
        }
    }

    typealias Handler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<aos_message>?) -> aos_status
    typealias Init = @convention(c) (OpaquePointer?, UnsafePointer<aos_kernel_api>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> aos_status

    static let okInit: Init = { _, _, _, _ in AOS_OK }

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
            Syscalls.table.pointee.call(context, name, aos_bytes(ptr: nil, len: 0), AOS_FOREVER, &reply)
        }
        Syscalls.table.pointee.release(context, &reply)
        let me = name(context)
        lock.withLock { results[me] = AOSStatus(rawValue: status) }
        return AOS_OK
    }
    static let failingInit: Init = { _, _, _, _ in AOS_EPERM }
}

/// A loader whose "paths" name in-process plugins: echo, gated, silent, caller, failinit.
struct InProcessLoader: PluginLoading {
    func open(path: String) throws(KernelError) -> PluginImage {
        let handler: InProcessPlugins.Handler
        var initialize = InProcessPlugins.okInit
        switch path {
        case "echo": handler = InProcessPlugins.echo
        case "gated": handler = InProcessPlugins.gated
        case "silent": handler = InProcessPlugins.silent
        case "caller": handler = InProcessPlugins.caller
        case "failinit":
            handler = InProcessPlugins.silent
            initialize = InProcessPlugins.failingInit
        default: throw KernelError(.fileNotFound, "no in-process plugin \(path)")
        }
        return InProcessImage(name: path, initialize: initialize, handler: handler)
    }
}

final class InProcessImage: PluginImage, @unchecked Sendable {
    let descriptor: UnsafePointer<aos_plugin_descriptor>
    let sourcePath: String
    private let storage: UnsafeMutablePointer<aos_plugin_descriptor>
    private let name: UnsafeMutablePointer<CChar>
    private let closedLock = ConditionLock()
    private var closed = false
    var isClosed: Bool { closedLock.withLock { closed } }

    init(name: String, initialize: InProcessPlugins.Init, handler: @escaping InProcessPlugins.Handler) {
        self.name = strdup(name)
        sourcePath = name
        storage = .allocate(capacity: 1)
        storage.initialize(to: aos_plugin_descriptor(
            magic: AOS_PLUGIN_MAGIC, abi_major: UInt16(AOS_ABI_MAJOR), abi_minor: UInt16(AOS_ABI_MINOR),
            struct_size: UInt32(MemoryLayout<aos_plugin_descriptor>.size), build_id: aos_build_id(),
            kind: AOS_KIND_AGENT, reserved: 0, name: UnsafePointer(self.name), version: nil, description: nil,
            capabilities: nil, init: initialize, on_message: handler, stop: nil, tools: nil, n_tools: 0, reserved2: 0,
            tool_size: 0, param_size: 0))
        descriptor = UnsafePointer(storage)
    }

    func close() { closedLock.withLock { closed = true } }
}

func makeKernel(mailbox: Int = 16, handlerDeadline: Double = 10) -> Kernel {
    var configuration = KernelConfiguration(pluginCopiesPath: "/nonexistent")
    configuration.mailboxCapacity = mailbox
    configuration.handlerDeadline = handlerDeadline
    return Kernel(configuration: configuration, loader: InProcessLoader(), threads: POSIXThreads(), logger: Logger(label: "test"))
}
