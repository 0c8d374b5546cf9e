import ControlAPI
import Foundation
import Testing

/// A process-mode host's seccomp filter: without `net` and `spawn` its plugin
/// cannot create sockets or start processes; whatever it holds, it cannot
/// signal the kernel. Refusals are errors the plugin sees (EPERM), not
/// crashes; threads are always allowed.
@Suite(.serialized) struct HostSandboxTests {
    private let attempts = ["socket", "fork", "exec", "thread", "kill-kernel"]

    private func loadCrasher(_ kernel: KernelProcess, grants: [String] = []) async throws {
        _ = try await kernel.client.load(LoadRequest(
            path: Paths.plugin("crasher"), grants: grants.isEmpty ? nil : grants, isolation: "process"))
    }

    private func outcomes(_ kernel: KernelProcess) async throws -> [String: String] {
        var outcomes: [String: String] = [:]
        for attempt in attempts { outcomes[attempt] = try await kernel.ask("crasher", attempt) }
        return outcomes
    }

    @Test func withoutGrantsAHostMayStartThreadsButNoSocketProcessProgramOrSignalToTheKernel() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadCrasher(kernel)
        let refused = "refused: Operation not permitted"
        #expect(try await outcomes(kernel) == [
            "socket": refused, "fork": refused, "exec": refused, "thread": "allowed", "kill-kernel": refused,
        ])
        // Refusals are answers, not crashes.
        let row = try #require(try await kernel.listed("crasher"))
        #expect(row.host?.restarts == 0, "\(row)")
        try await kernel.expectHealthy()
    }

    @Test func netAndSpawnLetThroughWhatTheyNameButNeverASignalToTheKernel() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadCrasher(kernel, grants: ["net", "spawn"])
        #expect(try await outcomes(kernel) == [
            "socket": "allowed", "fork": "allowed", "exec": "allowed", "thread": "allowed",
            "kill-kernel": "refused: Operation not permitted",
        ])
        try await kernel.expectHealthy()
    }

    @Test func aGrantAtRuntimeReachesTheFilterWhenTheHostNextStarts() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadCrasher(kernel)
        let grant = try await kernel.agentctlAsync("grant", "crasher", "net")
        #expect(grant.status == 0, "\(grant.stderr)")
        #expect(try await kernel.ask("crasher", "socket") == "refused: Operation not permitted")
        let log = try await kernel.agentctlAsync("logs", "crasher")
        #expect(log.stdout.contains("its host's syscall filter changes when the host next starts"), "\(log.stdout)")

        // A crash starts the next host, with the filter the grants say now.
        await expectAPIError("crashed", status: 502) { try await kernel.ask("crasher", "segv") }
        #expect(try await kernel.eventually(10) { (try? await kernel.ask("crasher", "socket")) == "allowed" })

        let revoke = try await kernel.agentctlAsync("revoke", "crasher", "net")
        #expect(revoke.status == 0, "\(revoke.stderr)")
        await expectAPIError("crashed", status: 502) { try await kernel.ask("crasher", "segv") }
        #expect(try await kernel.eventually(10) { (try? await kernel.ask("crasher", "socket")) == "refused: Operation not permitted" })
        try await kernel.expectHealthy()
    }

    @Test func aReloadedHostKeepsWhatItsGrantsAllow() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadCrasher(kernel, grants: ["net"])
        let reload = try await kernel.agentctlAsync("reload", "crasher")
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(try await kernel.ask("crasher", "socket") == "allowed")
        #expect(try await kernel.ask("crasher", "fork") == "refused: Operation not permitted")
    }

    @Test func netAndSpawnAreCapabilitiesWithTheirOwnNames() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let grant = try await kernel.agentctlAsync("grant", "echo", "spawn")
        #expect(grant.status == 0, "\(grant.stderr)")
        let log = try await kernel.agentctlAsync("logs", "echo")
        #expect(log.stdout.contains("not enforced in thread mode"), "\(log.stdout)")
        let bad = try await kernel.agentctlAsync("grant", "echo", "network")
        #expect(bad.status != 0 && bad.stderr.contains("use infer, kv, admin, net, spawn"), "\(bad.stderr)")
    }
}
