import CAgentOS
import Foundation
import KernelCore

/// A loader whose "paths" name `InProcessPlugins`: echo, gated, silent, caller,
/// and failinit (whose init fails with AOS_EPERM).
public struct InProcessLoader: PluginLoading {
    public init() {}

    public func open(path: String) throws(KernelError) -> PluginImage {
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

/// The descriptor of an in-process plugin; records whether the kernel closed it.
public final class InProcessImage: PluginImage, @unchecked Sendable {
    public let descriptor: UnsafePointer<aos_plugin_descriptor>
    public let sourcePath: String
    private let storage: UnsafeMutablePointer<aos_plugin_descriptor>
    private let name: UnsafeMutablePointer<CChar>
    private let closedLock = ConditionLock()
    private var closed = false

    init(name: String, initialize: InProcessPlugins.Init, handler: @escaping InProcessPlugins.Handler) {
        self.name = strdup(name)
        sourcePath = name
        storage = .allocate(capacity: 1)
        storage.initialize(to: aos_plugin_descriptor(
            magic: AOS_PLUGIN_MAGIC, abi_major: UInt16(AOS_ABI_MAJOR), abi_minor: UInt16(AOS_ABI_MINOR),
            struct_size: UInt32(MemoryLayout<aos_plugin_descriptor>.size), build_id: aos_build_id(),
            kind: AOS_KIND_AGENT, reserved: 0, name: UnsafePointer(self.name), version: nil, description: nil,
            capabilities: nil, init: initialize, on_message: handler, stop: nil, tools: nil, n_tools: 0, reserved2: 0,
            tool_size: 0, param_size: 0, runtime: nil, save: nil, restore: nil))
        descriptor = UnsafePointer(storage)
    }

    /// Whether the kernel closed the image.
    public var isClosed: Bool { closedLock.withLock { closed } }

    public func close() { closedLock.withLock { closed = true } }
}
