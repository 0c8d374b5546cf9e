import ControlAPI
import Foundation
import Testing

/// ABI 1.12's save and restore through the SDKs: a Swift `ReloadableAgent`
/// and a C++ agent class with `save`/`restore` (agentos.hpp), each reloaded
/// with `agentctl reload`, hand their count to the new instance, in thread
/// mode and in process mode (where both run in the hosts).
@Suite struct SDKStateHandoffTests {
    @Test(arguments: ["swiftkeeper", "cppkeeper"], ["thread", "process"])
    func countCrossesAReloadThroughTheSDK(_ plugin: String, _ isolation: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin(plugin), isolation: isolation))
        for index in 1...3 { #expect(try await kernel.ask(plugin, "a") == "#\(index) a") }

        let reload = try await kernel.agentctlAsync("reload", plugin, "--timeout", "30")
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(try await kernel.listed(plugin)?.isolation == isolation)
        #expect(try await kernel.ask(plugin, "b") == "#4 b", "the count went on in the new instance")
        #expect(try await kernel.waitForLog(plugin, containing: "restored 9 bytes of state from the version it replaced"))
        try await kernel.expectHealthy()
    }
}
