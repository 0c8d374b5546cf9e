import CAgentOS

/// The tools a descriptor declares, read and checked at load.
public enum ToolTable {
    /// Tools one plugin may declare.
    public static let maxTools = 64

    /// The descriptor's tools (none when its struct predates ABI 1.2 or `tools` is NULL).
    /// Throws a `ToolDefinitionError` for the first bad tool or a duplicate name.
    public static func read(_ descriptor: UnsafePointer<aos_plugin_descriptor>) throws(ToolDefinitionError) -> [Tool] {
        let end = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.n_tools)! + MemoryLayout<UInt32>.size
        guard Int(descriptor.pointee.struct_size) >= end, descriptor.pointee.n_tools > 0 else { return [] }
        let count = Int(descriptor.pointee.n_tools)
        guard count <= maxTools else {
            throw ToolDefinitionError(.invalid, "the descriptor declares \(count) tools; at most \(maxTools)")
        }
        guard let table = descriptor.pointee.tools else {
            throw ToolDefinitionError(.invalid, "n_tools is \(count) but tools is NULL")
        }
        var tools: [Tool] = []
        for index in 0..<count {
            let tool = try Tool(table[index], index: index)
            guard !tools.contains(where: { $0.name == tool.name }) else {
                throw ToolDefinitionError(.duplicateName, "two tools are named \(tool.name)")
            }
            tools.append(tool)
        }
        return tools
    }
}
