import CAgentOS

/// The tools a descriptor declares, read and checked at load.
///
/// The `tools` array and each tool's `params` belong to the plugin and are
/// laid out with the plugin's element sizes: `tool_size` and `param_size`
/// (descriptor fields since ABI 1.4), else the ABI 1.2 sizes. Each element is
/// copied into a zeroed struct of this kernel's layout, so a field a newer
/// plugin appended is skipped and a field an older one lacks reads as zero.
public enum ToolTable {
    /// Tools one plugin may declare.
    public static let maxTools = 64

    /// sizeof(aos_tool) as ABI 1.2 published it (64 bytes on 64-bit builds):
    /// the stride of a plugin that does not give `tool_size`.
    public static let legacyToolSize = MemoryLayout<aos_tool>.offset(of: \aos_tool.free_result)! + MemoryLayout<UnsafeRawPointer>.size
    /// sizeof(aos_tool_param) as ABI 1.2 published it (24 bytes on 64-bit builds).
    public static let legacyParamSize = MemoryLayout<aos_tool_param>.offset(of: \aos_tool_param.description)! + MemoryLayout<UnsafeRawPointer>.size
    /// The largest element size accepted: far above any struct the ABI will grow to.
    public static let maxElementSize = 4096

    /// The descriptor's tools (none when its struct predates ABI 1.2 or `tools` is NULL).
    /// `instance` names the tools in fatal-signal reports ("INSTANCE.tool"); nil
    /// uses the descriptor's name. Throws a `ToolDefinitionError` for bad
    /// element sizes, the first bad tool, or a duplicate name.
    public static func read(
        _ descriptor: UnsafePointer<aos_plugin_descriptor>, instance: String? = nil
    ) throws(ToolDefinitionError) -> [Tool] {
        let end = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.n_tools)! + MemoryLayout<UInt32>.size
        guard Int(descriptor.pointee.struct_size) >= end, descriptor.pointee.n_tools > 0 else { return [] }
        let count = Int(descriptor.pointee.n_tools)
        guard count <= maxTools else {
            throw ToolDefinitionError(.invalid, "the descriptor declares \(count) tools; at most \(maxTools)")
        }
        guard let table = descriptor.pointee.tools else {
            throw ToolDefinitionError(.invalid, "n_tools is \(count) but tools is NULL")
        }
        let (toolStride, paramStride) = try strides(descriptor)
        let owner = instance ?? descriptor.pointee.name.flatMap { String(validatingCString: $0) } ?? "?"
        var tools: [Tool] = []
        for index in 0..<count {
            var element = aos_tool()
            copy(UnsafeRawPointer(table) + index * toolStride, stride: toolStride, into: &element)
            let tool = try Tool(element, index: index, paramStride: paramStride, owner: owner)
            guard !tools.contains(where: { $0.name == tool.name }) else {
                throw ToolDefinitionError(.duplicateName, "two tools are named \(tool.name)")
            }
            tools.append(tool)
        }
        return tools
    }

    /// The plugin's element sizes for `tools` and `params`: its `tool_size` and
    /// `param_size` when its descriptor has them and they are not 0, else the
    /// ABI 1.2 sizes. Throws for a size smaller than ABI 1.2's, over
    /// `maxElementSize`, or not a multiple of the pointer size.
    static func strides(_ descriptor: UnsafePointer<aos_plugin_descriptor>) throws(ToolDefinitionError) -> (tool: Int, param: Int) {
        let end = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.param_size)! + MemoryLayout<UInt32>.size
        guard Int(descriptor.pointee.struct_size) >= end else { return (legacyToolSize, legacyParamSize) }
        return (
            try checkedSize(Int(descriptor.pointee.tool_size), legacy: legacyToolSize, field: "tool_size", type: "aos_tool"),
            try checkedSize(Int(descriptor.pointee.param_size), legacy: legacyParamSize, field: "param_size", type: "aos_tool_param"))
    }

    private static func checkedSize(_ size: Int, legacy: Int, field: String, type: String) throws(ToolDefinitionError) -> Int {
        if size == 0 { return legacy }
        let alignment = MemoryLayout<UnsafeRawPointer>.alignment
        guard size >= legacy, size <= maxElementSize, size % alignment == 0 else {
            throw ToolDefinitionError(.invalid, "the descriptor's \(field) is \(size): it must be 0 (ABI 1.2's \(legacy)) or sizeof(\(type)), a multiple of \(alignment) from \(legacy) to \(maxElementSize) (set it with AOS_PLUGIN_HEADER)")
        }
        return size
    }

    /// Copies the first `min(stride, MemoryLayout<T>.size)` bytes at `source` over `element` (zeroed by the caller).
    static func copy<T>(_ source: UnsafeRawPointer, stride: Int, into element: inout T) {
        withUnsafeMutableBytes(of: &element) { bytes in
            bytes.copyMemory(from: UnsafeRawBufferPointer(start: source, count: min(stride, bytes.count)))
        }
    }
}
