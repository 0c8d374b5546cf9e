import CAgentOS
import Foundation
import Testing
import Tools

/// `ToolTable` reads the plugin's tool and parameter arrays with the element
/// sizes its descriptor gives (ABI 1.4), and with ABI 1.2's sizes when it gives none.
@Suite struct ToolTableStrideTests {
    /// A tool function for the tables below; never called.
    private static let negate: @convention(c) (Int32) -> Int32 = { -$0 }

    /// Builds a descriptor with two tools ("first", "second"), each with one
    /// INT32 parameter ("a", "b"), laid out `toolStride` and `paramStride`
    /// bytes apart with 0xAB filling the gaps (a newer plugin's appended
    /// fields), and runs `body` on it. `structSize` nil: the whole struct.
    private func withDescriptor<T>(
        toolStride: Int, paramStride: Int, toolSize: UInt32, paramSize: UInt32, structSize: Int? = nil,
        _ body: (UnsafePointer<aos_plugin_descriptor>) throws -> T
    ) rethrows -> T {
        let names: [UnsafeMutablePointer<CChar>] = ["first", "second", "a", "b", "strides"].map { (name: String) in strdup(name)! }
        defer { names.forEach { free($0) } }
        let params = UnsafeMutableRawPointer.allocate(byteCount: 2 * paramStride, alignment: 8)
        let tools = UnsafeMutableRawPointer.allocate(byteCount: 2 * toolStride, alignment: 8)
        defer { params.deallocate(); tools.deallocate() }
        params.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 2 * paramStride)
        tools.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 2 * toolStride)
        for index in 0..<2 {
            var param = aos_tool_param()
            param.name = UnsafePointer(names[2 + index])
            param.type = AOS_TYPE_INT32
            param.required = 1
            withUnsafeBytes(of: param) { (params + index * paramStride).copyMemory(from: $0.baseAddress!, byteCount: ToolTable.legacyParamSize) }
            var tool = aos_tool()
            tool.name = UnsafePointer(names[index])
            tool.fn = unsafeBitCast(Self.negate, to: aos_tool_fn.self)
            tool.returns = AOS_TYPE_INT32
            tool.n_params = 1
            tool.params = UnsafePointer((params + index * paramStride).assumingMemoryBound(to: aos_tool_param.self))
            withUnsafeBytes(of: tool) { (tools + index * toolStride).copyMemory(from: $0.baseAddress!, byteCount: ToolTable.legacyToolSize) }
        }
        var descriptor = aos_plugin_descriptor()
        descriptor.magic = AOS_PLUGIN_MAGIC
        descriptor.struct_size = UInt32(structSize ?? MemoryLayout<aos_plugin_descriptor>.size)
        descriptor.kind = AOS_KIND_TOOL
        descriptor.name = UnsafePointer(names[4])
        descriptor.tools = UnsafePointer(tools.assumingMemoryBound(to: aos_tool.self))
        descriptor.n_tools = 2
        descriptor.tool_size = toolSize
        descriptor.param_size = paramSize
        return try withUnsafePointer(to: &descriptor) { try body($0) }
    }

    private func shape(_ tools: [Tool]) -> [String] {
        tools.map { "\($0.name)(\($0.parameters.map(\.name).joined(separator: ",")))" }
    }

    @Test func legacySizesAreABI12s() {
        #expect(ToolTable.legacyToolSize == 64)
        #expect(ToolTable.legacyParamSize == 24)
    }

    @Test func newerPluginsLargerElementsAreReadAtTheirStride() throws {
        let tools = try withDescriptor(toolStride: 96, paramStride: 40, toolSize: 96, paramSize: 40) {
            try ToolTable.read($0, instance: "wide")
        }
        #expect(shape(tools) == ["first(a)", "second(b)"])
    }

    @Test func descriptorEndingBeforeTheSizesGetsABI12Strides() throws {
        let end = MemoryLayout<aos_plugin_descriptor>.offset(of: \aos_plugin_descriptor.tool_size)!
        // The sizes beyond struct_size are garbage an ABI 1.3 plugin never wrote: they must not be read.
        let tools = try withDescriptor(toolStride: 64, paramStride: 24, toolSize: 999, paramSize: 999, structSize: end) {
            try ToolTable.read($0)
        }
        #expect(shape(tools) == ["first(a)", "second(b)"])
    }

    @Test func zeroSizesMeanABI12Strides() throws {
        let tools = try withDescriptor(toolStride: 64, paramStride: 24, toolSize: 0, paramSize: 0) { try ToolTable.read($0) }
        #expect(shape(tools) == ["first(a)", "second(b)"])
    }

    @Test(arguments: [(UInt32(32), UInt32(24)), (64, 16), (68, 24), (64, 28), (8192, 24)])
    func sizeSmallerThanABI12sUnalignedOrHugeIsRefused(_ sizes: (UInt32, UInt32)) {
        do {
            _ = try withDescriptor(toolStride: 64, paramStride: 24, toolSize: sizes.0, paramSize: sizes.1) { try ToolTable.read($0) }
            Issue.record("sizes \(sizes) were accepted")
        } catch let error as ToolDefinitionError {
            #expect(error.kind == .invalid)
            #expect(error.message.contains(sizes.0 != 64 ? "tool_size is \(sizes.0)" : "param_size is \(sizes.1)"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
