import CAgentOS
import KernelCore

/// The handshake every descriptor must pass before the kernel calls into it:
/// magic, ABI major, struct size, build id, runtime, kind, and the required fields
/// (an agent's `init` and `on_message`, a tool plugin's tools).
/// The first three are read field by field, so a short struct is never read past its size.
public enum DescriptorCheck {
    /// The largest `struct_size` accepted: far above any descriptor an ABI 1.x
    /// header builds (`sizeof(aos_plugin_descriptor)` is under 128 bytes), far
    /// below a size that is really a corrupt or uninitialised field.
    public static let maxStructSize = 64 << 10

    public static func validate(_ symbol: UnsafeRawPointer, path: String) throws(KernelError) {
        let magic = symbol.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        guard magic == AOS_PLUGIN_MAGIC else {
            throw KernelError(.badMagic, "cannot load \(path): bad magic 0x\(String(magic, radix: 16)) (expected 0x\(String(AOS_PLUGIN_MAGIC, radix: 16)); not built against sdk/include/agentos.h)")
        }
        let major = symbol.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        guard Int32(major) == AOS_ABI_MAJOR else {
            throw KernelError(.abiMismatch, "cannot load \(path): ABI major \(major), kernel speaks \(AOS_ABI_MAJOR) (rebuild against sdk/include/agentos.h)")
        }
        let size = symbol.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        // ABI 1.0's descriptor ends where 1.2 appended `tools`.
        let required = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.tools)!
        guard Int(size) >= required else {
            throw KernelError(.structTooSmall, "cannot load \(path): descriptor struct_size \(size) is smaller than the \(required) bytes of ABI \(AOS_ABI_MAJOR).0 (rebuild against sdk/include/agentos.h)")
        }
        guard Int(size) <= maxStructSize else {
            throw KernelError(.structTooLarge, "cannot load \(path): descriptor struct_size \(size) is larger than any descriptor (at most \(maxStructSize) bytes); set it with AOS_PLUGIN_HEADER (see sdk/include/agentos.h)")
        }
        // Field by field through the pointer: the struct may end at ABI 1.0's fields.
        let descriptor = symbol.assumingMemoryBound(to: aos_plugin_descriptor.self)
        guard descriptor.pointee.build_id == aos_build_id() else {
            throw KernelError(.buildMismatch, "cannot load \(path): built for \(buildName(descriptor.pointee.build_id)), kernel is \(buildName(aos_build_id()))")
        }
        try checkRuntime(descriptor, size: Int(size), path: path)
        guard descriptor.pointee.kind == AOS_KIND_AGENT || descriptor.pointee.kind == AOS_KIND_TOOL else {
            throw KernelError(.badDescriptor, "cannot load \(path): plugin kind \(descriptor.pointee.kind) is not supported by this kernel (agents are kind \(AOS_KIND_AGENT), tools \(AOS_KIND_TOOL))")
        }
        guard descriptor.pointee.name != nil else {
            throw KernelError(.badDescriptor, "cannot load \(path): descriptor has no name")
        }
        guard descriptor.pointee.kind == AOS_KIND_TOOL || (descriptor.pointee.`init` != nil && descriptor.pointee.on_message != nil) else {
            throw KernelError(.badDescriptor, "cannot load \(path): descriptor lacks \(descriptor.pointee.`init` == nil ? "init" : "on_message")")
        }
        if descriptor.pointee.kind == AOS_KIND_TOOL {
            let toolsEnd = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.n_tools)! + MemoryLayout<UInt32>.size
            guard Int(size) >= toolsEnd, descriptor.pointee.tools != nil, descriptor.pointee.n_tools > 0 else {
                throw KernelError(.badDescriptor, "cannot load \(path): a tool plugin (kind AOS_KIND_TOOL) that declares no tools; list them in `tools` and `n_tools`, or make it an agent (AOS_KIND_AGENT)")
            }
        }
    }

    /// ABI 1.6: a plugin that names a runtime (a Swift plugin) must have been built
    /// for the kernel's own; Swift's ABI is not stable on Linux.
    private static func checkRuntime(
        _ descriptor: UnsafePointer<aos_plugin_descriptor>, size: Int, path: String
    ) throws(KernelError) {
        let end = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.runtime)! + MemoryLayout<UnsafeRawPointer>.size
        guard size >= end, let runtime = descriptor.pointee.runtime else { return }
        let theirs = String(cString: runtime), ours = String(cString: aos_kernel_runtime())
        guard theirs == ours else {
            throw KernelError(.runtimeMismatch, "cannot load \(path): built for the runtime \"\(theirs)\", the kernel runs on \"\(ours)\" (rebuild the plugin with the kernel's Swift toolchain)")
        }
    }

    private static func buildName(_ id: UInt32) -> String {
        let bits = id & 0xFF
        let order = (id >> 8) == 1 ? "little-endian" : (id >> 8) == 2 ? "big-endian" : "unknown byte order"
        return "\(bits)-bit \(order)"
    }
}
