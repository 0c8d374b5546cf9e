import ControlAPI
import Foundation
import Testing

/// A handler (or an init) that never returns: the kernel marks the instance
/// hung, reports an unload that cannot finish as `hung`, keeps the library
/// open under the running thread, and itself stays healthy and stoppable.
@Suite(.serialized) struct HungHandlerTests {
    /// A kernel with a 0.3 s handler deadline and a blocker stuck in its handler.
    private func kernelWithStuckBlocker() async throws -> KernelProcess {
        let kernel = try await KernelProcess(["--handler-deadline", "0.3", "--unload-timeout", "0.5"])
        try await kernel.load("blocker")
        _ = try await kernel.client.send("blocker", SendRequest(text: "block"))
        try #require(try await kernel.waitForLog("blocker", containing: "blocker: blocking forever"))
        return kernel
    }

    @Test func handlerPastTheDeadlineIsListedAsHung() async throws {
        let kernel = try await kernelWithStuckBlocker()
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instance("blocker").state == "hung" })
        let blocker = try await kernel.client.instance("blocker")
        #expect(blocker.lastError?.contains("past the 0.3 s deadline") == true, "\(blocker.lastError ?? "nil")")
        let ps = try await kernel.agentctlAsync("ps")
        #expect(ps.stdout.split(separator: "\n").contains { $0.hasPrefix("blocker ") && $0.contains(" hung ") }, "\(ps.stdout)")
        let logs = try await kernel.agentctlAsync("logs", "blocker")
        #expect(logs.stdout.contains("blocker: blocking forever"), "\(logs.stdout)")
        #expect(logs.stdout.contains("hung: handler has run for"), "\(logs.stdout)")
        try await kernel.expectHealthy()
    }

    @Test func unloadOfAHungInstanceFailsAsHungAndLeavesItListed() async throws {
        let kernel = try await kernelWithStuckBlocker()
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instance("blocker").state == "hung" })

        let unload = try await kernel.agentctlAsync("unload", "blocker", "--timeout", "0.3")
        #expect(unload.status == 1)
        #expect(unload.stderr.hasPrefix("agentctl: blocker did not stop within 0.3 s: its handler is still running"), "\(unload.stderr)")
        let message = await expectAPIError("hung", status: 504) { try await kernel.client.unload("blocker", timeout: 0.3) }
        #expect(message.contains("stays listed as hung"), "\(message)")

        let blocker = try await kernel.client.instance("blocker")
        #expect(blocker.state == "hung")
        #expect(blocker.lastError?.contains("did not stop within 0.3 s") == true, "\(blocker.lastError ?? "nil")")
        #expect(kernel.privateCopies().count == 1, "the library stays open under the stuck thread")
        try await kernel.expectHealthy()
    }

    @Test func stuckInstanceBeforeAnyDeadlineIsReportedHungByUnload() async throws {
        // The default deadline (10 s) has not passed; unload's own timeout finds it stuck.
        let kernel = try await KernelProcess(["--unload-timeout", "0.5"])
        defer { kernel.stop() }
        try await kernel.load("blocker")
        _ = try await kernel.client.send("blocker", SendRequest(text: "block"))
        try #require(try await kernel.waitForLog("blocker", containing: "blocker: blocking forever"))
        await expectAPIError("hung", status: 504) { try await kernel.client.unload("blocker", timeout: 0.3) }
        #expect(try await kernel.client.instance("blocker").state == "hung")
        try await kernel.expectHealthy()
    }

    @Test func hungInstanceKeepsItsName() async throws {
        let kernel = try await kernelWithStuckBlocker()
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instance("blocker").state == "hung" })
        await expectAPIError("hung", status: 504) { try await kernel.client.unload("blocker", timeout: 0.3) }
        await expectAPIError("name_taken", status: 409) { try await kernel.load("blocker") }
        try await kernel.load("blocker", as: "blocker2")
        #expect(try await kernel.client.instance("blocker2").state == "running")
    }

    @Test func requestToAHungInstanceTimesOut() async throws {
        let kernel = try await kernelWithStuckBlocker()
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instance("blocker").state == "hung" })
        let send = try await kernel.agentctlAsync("send", "blocker", "anyone?", "--wait", "--timeout", "0.5")
        #expect(send.status == 1)
        #expect(send.stderr == "agentctl: no reply from blocker within 0.5s (raise --timeout, or see `agentctl logs blocker`)\n")
        await expectAPIError("timed_out", status: 504) { try await kernel.ask("blocker", "anyone?", timeoutMs: 300) }
        try await kernel.expectHealthy()
    }

    @Test func sendToAnInstanceThatWouldNotStopIsStopping() async throws {
        let kernel = try await KernelProcess(["--unload-timeout", "0.5"])
        defer { kernel.stop() }
        try await kernel.load("blocker")
        _ = try await kernel.client.send("blocker", SendRequest(text: "block"))
        try #require(try await kernel.waitForLog("blocker", containing: "blocker: blocking forever"))
        await expectAPIError("hung", status: 504) { try await kernel.client.unload("blocker", timeout: 0.3) }
        let message = await expectAPIError("stopping", status: 503) {
            try await kernel.client.send("blocker", SendRequest(text: "more"))
        }
        #expect(message == "blocker is being unloaded")
        try await kernel.expectHealthy()
    }

    // MARK: init that never returns

    @Test func initThatNeverReturnsFailsTheLoadAsHung() async throws {
        let kernel = try await KernelProcess(["--init-timeout", "0.3", "--unload-timeout", "0.5"])
        defer { kernel.stop() }
        let path = Paths.plugin("initblock")
        let message = await expectAPIError("hung", status: 504) { try await kernel.load("initblock") }
        #expect(message == "cannot load \(path): init of initblock did not return within 0.3 s; it stays listed as hung (`agentctl unload --force initblock` frees its name)")
        let initblock = try #require(try await kernel.listed("initblock"))
        #expect(initblock.state == "hung")
        #expect(initblock.lastError == "init did not return within 0.3 s")
        #expect(kernel.privateCopies().count == 1, "the library stays open under the stuck thread")
        #expect(try await kernel.waitForLog("initblock", containing: "initblock: blocking forever in init"))
        try await kernel.expectHealthy()
    }

    @Test func instanceStuckInInitKeepsItsNameAndTakesNoMessages() async throws {
        let kernel = try await KernelProcess(["--init-timeout", "0.3", "--unload-timeout", "0.5"])
        defer { kernel.stop() }
        await expectAPIError("hung", status: 504) { try await kernel.load("initblock") }
        await expectAPIError("name_taken", status: 409) { try await kernel.load("initblock") }
        await expectAPIError("stopping", status: 503) { try await kernel.client.send("initblock", SendRequest(text: "hello?")) }
        await expectAPIError("hung", status: 504) { try await kernel.client.unload("initblock", timeout: 0.3) }
        #expect(try await kernel.client.instance("initblock").state == "hung")
        try await kernel.expectHealthy()
    }

    @Test func kernelWithAnInstanceStuckInInitStopsCleanlyOnSIGTERM() async throws {
        let kernel = try await KernelProcess(["--init-timeout", "0.3", "--unload-timeout", "0.5"])
        defer { kernel.stop() }
        let load = try await kernel.agentctlAsync("load", Paths.plugin("initblock"))
        #expect(load.status == 1)
        #expect(load.stderr.hasPrefix("agentctl: cannot load \(Paths.plugin("initblock")): init of initblock did not return"), "\(load.stderr)")
        kernel.signal(SIGTERM)
        #expect(await kernel.waitForExit() == 0, "\(kernel.log())")
        #expect(!FileManager.default.fileExists(atPath: kernel.home.socketPath))
    }

    // MARK: Shutdown

    @Test func kernelWithAHungInstanceStillStopsCleanlyOnSIGTERM() async throws {
        let kernel = try await kernelWithStuckBlocker()
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instance("blocker").state == "hung" })
        try await kernel.load("echo")
        kernel.signal(SIGTERM)
        let status = await kernel.waitForExit()
        #expect(status == 0, "\(kernel.log())")
        #expect(!FileManager.default.fileExists(atPath: kernel.home.socketPath))
        let log = kernel.log()
        #expect(log.contains("agent=echo [KernelCore] unloaded"), "\(log)")
        #expect(log.contains("agent=blocker timeout_s=0.5 [KernelCore] instance did not stop"), "\(log)")
    }
}
