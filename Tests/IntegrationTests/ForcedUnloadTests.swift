import ControlAPI
import Foundation
import Testing

/// `agentctl unload --force`: an instance stuck in a handler or in `init`
/// gives up its name, mailbox and metrics at once; its thread is parked as a
/// zombie, listed in `ps -a`, and its library is never closed under it.
@Suite(.serialized) struct ForcedUnloadTests {
    private func metricsText(_ kernel: KernelProcess) async throws -> String {
        let (status, body) = try await kernel.client.raw(.GET, "/metrics")
        #expect(status == 200)
        return String(decoding: body, as: UTF8.self)
    }

    @Test func forcedUnloadOfAStuckHandlerFreesTheNameAndLeavesAZombie() async throws {
        let kernel = try await KernelProcess(["--unload-timeout", "0.5"])
        defer { kernel.stop() }
        try await kernel.load("blocker")
        _ = try await kernel.client.send("blocker", SendRequest(text: "block"))
        try #require(try await kernel.waitForLog("blocker", containing: "blocker: blocking forever"))
        await expectAPIError("hung", status: 504) { try await kernel.client.unload("blocker", timeout: 0.3) }

        let unload = try await kernel.agentctlAsync("unload", "blocker", "--force", "--timeout", "0.3")
        #expect(unload.status == 0, "\(unload.stderr)")
        #expect(unload.stdout.contains("left parked as a zombie; its CPU and memory stay until the kernel restarts"), "\(unload.stdout)")
        #expect(try await kernel.client.instances().contains { $0.name == "blocker" } == false)
        #expect(try await kernel.listed("blocker")?.state == "zombie")
        #expect(kernel.privateCopies().count == 1, "the library stays open under the parked thread")
        let metrics = try await metricsText(kernel)
        #expect(!metrics.contains("agent=\"blocker\""), "the zombie's series are dropped")

        // The name is free: a new instance takes it and works.
        try await kernel.load("echo", as: "blocker")
        #expect(try await kernel.ask("blocker", "new") == "new")
        try await kernel.expectHealthy()
    }

    @Test func forcedUnloadOfAnInstanceStuckInInitFreesItsName() async throws {
        let kernel = try await KernelProcess(["--init-timeout", "0.3", "--unload-timeout", "0.5"])
        defer { kernel.stop() }
        await expectAPIError("hung", status: 504) { try await kernel.load("initblock") }
        #expect(try await kernel.client.unload("initblock", timeout: 0.3, force: true).state == "zombie")
        await expectAPIError("not_found", status: 404) { try await kernel.client.unload("initblock") }
        try await kernel.load("echo", as: "initblock")
        #expect(try await kernel.ask("initblock", "free") == "free")
        let states = try await kernel.client.instances(all: true).filter { $0.name == "initblock" }.map(\.state)
        #expect(states.sorted() == ["running", "zombie"])
        try await kernel.expectHealthy()
    }

    @Test func forcedUnloadOfAnInstanceThatStopsInTimeIsAnOrdinaryUnload() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        #expect(try await kernel.client.unload("echo", force: true).state == "stopped")
        #expect(kernel.privateCopies().isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func unloadedInstancesLeaveNoSeriesInMetrics() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        func churn(_ names: Range<Int>) async throws {
            for index in names {
                try await kernel.load("echo", as: "churn\(index)")
                #expect(try await kernel.ask("churn\(index)", "x") == "x")
                _ = try await kernel.client.send("churn\(index)", SendRequest(text: String(repeating: "y", count: 10)))
                _ = try await kernel.client.unload("churn\(index)")
            }
        }
        // The control routes' own series (hb_requests…) appear with their first use, a scrape's after it.
        try await churn(0..<1)
        _ = try await metricsText(kernel)
        let before = try await metricsText(kernel)
        try await churn(1..<21)
        let after = try await metricsText(kernel)
        #expect(!after.contains("churn"), "series of unloaded instances remain")
        #expect(after.split(separator: "\n").count == before.split(separator: "\n").count, "20 more names, no more series")
    }
}
