import ControlAPI
import Foundation
import Testing

/// The agentosd process: one kernel per home, stale sockets replaced, clean
/// shutdown on SIGTERM and SIGINT (instances unloaded newest first, socket removed).
@Suite(.serialized) struct DaemonLifecycleTests {
    @Test func secondKernelOnTheSameHomeRefusesToStart() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let second = try await BackgroundCommand(
            Paths.agentosd, ["--plugins", kernel.scratch("Plugins2")], environment: ["AGENTOS_HOME": kernel.home.path]
        ).finish(timeout: 20)
        #expect(second.status == 1, "\(second.stdout)\(second.stderr)")
        #expect(second.stderr.contains("another kernel is running on"), "\(second.stderr)")
        #expect(second.stderr.contains("(pid \(kernel.process.processIdentifier))"), "\(second.stderr)")
        // The first kernel keeps its socket, its instances and its health.
        #expect(FileManager.default.fileExists(atPath: kernel.home.socketPath))
        #expect(try await kernel.ask("echo", "still the first") == "still the first")
        try await kernel.expectHealthy()
    }

    @Test func staleSocketFileIsReplaced() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/home", withIntermediateDirectories: true)
        try PluginFiles.write("left over", to: root + "/home/agentosd.sock")
        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        #expect(kernel.log().contains("agentosd: replaced a stale socket at"), "\(kernel.log())")
        let socket = try FileManager.default.attributesOfItem(atPath: kernel.home.socketPath)
        #expect(socket[.type] as? FileAttributeType == .typeSocket)
        try await kernel.expectHealthy()
    }

    @Test func killedKernelIsReplacedOnTheSameHome() async throws {
        let first = try await KernelProcess()
        defer { first.stop() }
        try await first.load("echo")
        #expect(first.privateCopies().count == 1)
        first.signal(SIGKILL)
        #expect(await first.waitForExit() == SIGKILL)
        #expect(FileManager.default.fileExists(atPath: first.home.socketPath), "a killed kernel leaves its socket")

        // Restoring the instance is DurableStateTests'; here the new kernel starts empty.
        let second = try await KernelProcess(["--no-restore"], root: first.root)
        defer { second.stop() }
        #expect(second.log().contains("agentosd: replaced a stale socket at"), "\(second.log())")
        #expect(try await second.client.instances(all: true).isEmpty, "a new kernel with --no-restore starts empty")
        #expect(second.privateCopies().isEmpty, "the killed kernel's private copies are cleared")
        try await second.expectHealthy()
    }

    @Test func sigtermUnloadsNewestFirstRemovesTheSocketAndExitsZero() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for name in ["first", "second", "third"] { try await kernel.load("echo", as: name) }
        try await kernel.load("counter", as: "fourth")
        kernel.signal(SIGTERM)
        #expect(await kernel.waitForExit() == 0, "\(kernel.log())")
        #expect(!FileManager.default.fileExists(atPath: kernel.home.socketPath))
        #expect(kernel.privateCopies().isEmpty, "every library is closed and its copy removed")

        let unloaded = kernel.log().split(separator: "\n").compactMap { line -> String? in
            guard line.hasSuffix("[KernelCore] unloaded"), let agent = line.firstRange(of: "agent=") else { return nil }
            return String(line[agent.upperBound...].prefix { $0 != " " })
        }
        #expect(unloaded == ["fourth", "third", "second", "first"], "\(kernel.log())")
        #expect(kernel.log().contains("[agentosd] stopped"))
    }

    @Test func sigintStopsTheKernelLikeSIGTERM() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        kernel.signal(SIGINT)
        #expect(await kernel.waitForExit() == 0, "\(kernel.log())")
        #expect(!FileManager.default.fileExists(atPath: kernel.home.socketPath))
        #expect(kernel.log().contains("agent=echo [KernelCore] unloaded"), "\(kernel.log())")
    }

    @Test func agentctlAfterShutdownSaysTheKernelIsNotRunning() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        kernel.signal(SIGTERM)
        #expect(await kernel.waitForExit() == 0)
        let ps = try await kernel.agentctlAsync("ps", timeout: 5)
        #expect(ps.status == 3, "\(ps.status == SIGKILL ? "still trying after 5 s" : ps.stderr)")
        #expect(ps.stderr.hasPrefix("agentctl: kernel not running at "), "\(ps.stderr)")
    }

    @Test(arguments: [
        ["--mailbox", "0"], ["--max-message-bytes", "0"], ["--handler-deadline", "0"], ["--unload-timeout", "-1"], ["--bogus"],
        ["--session-max-idle-days", "0"], ["--session-max-idle-days", "nan"], ["--session-max-turns", "0"],
    ])
    func invalidOptionIsRefusedAtStart(_ arguments: [String]) async throws {
        let root = KernelProcess.newRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try await BackgroundCommand(
            Paths.agentosd, ["--plugins", root + "/Plugins"] + arguments, environment: ["AGENTOS_HOME": root + "/home"]
        ).finish(timeout: 20)
        #expect(result.status != 0 && result.status != SIGKILL, "\(result.stderr)")
        #expect(result.stderr.contains("Error: "), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/home/agentosd.sock"))
    }
}
