import ControlAPI
import Foundation
import Testing

/// Tool arrays are read with the plugin's element sizes (ABI 1.4): a plugin
/// of ABI 1.3 keeps loading with 1.2's strides, and one whose structs grew
/// in a later ABI has its tools and parameters read at its own stride.
@Suite(.serialized) struct ToolStrideTests {
    @Test(arguments: [("strides_abi13", "strides13"), ("strides_wide", "stridesw")])
    func toolsAndParametersAreReadAtThePluginsStride(_ plugin: (file: String, name: String)) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load(plugin.file)
        let tools = try await kernel.client.tools(matching: "\(plugin.name).*")
        #expect(tools.map(\.name).sorted() == ["\(plugin.name).add", "\(plugin.name).neg"])
        #expect(try await kernel.client.callTool("\(plugin.name).add", arguments: #"{"a": 40, "b": 2}"#).result == "42")
        #expect(try await kernel.client.callTool("\(plugin.name).neg", arguments: #"{"v": 7}"#).result == "-7")
        try await kernel.expectHealthy()
    }
}
