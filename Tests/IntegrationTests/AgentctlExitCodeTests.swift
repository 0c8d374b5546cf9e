import ControlAPI
import Foundation
import Testing

/// agentctl's exit codes and error lines: 0 ok, 1 the kernel refused, 2 usage,
/// 3 no kernel (with a hint how to start one); errors on stderr, nothing on stdout.
@Suite struct AgentctlExitCodeTests {
    static let commands: [[String]] = [
        ["ps"], ["ps", "-a", "-o", "json"], ["status"], ["load", "/tmp/echo.so"], ["unload", "echo"],
        ["send", "echo", "hi"], ["send", "echo", "hi", "--wait"], ["logs", "echo"], ["logs", "echo", "-f"],
    ]

    @Test(arguments: commands)
    func everyCommandExitsThreeWithoutAKernel(_ arguments: [String]) async throws {
        let home = try EmptyHome()
        let result = try await home.agentctl(arguments)
        #expect(result.status == 3, "\(result.status == SIGKILL ? "still trying after 5 s" : result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr == "agentctl: kernel not running at \(home.home.displaySocketPath) (start it with `make run`)\n")
    }

    @Test func homeThatDoesNotExistExitsThree() async throws {
        let home = try EmptyHome()
        let missing = home.home.path + "/not/there"
        let result = try await BackgroundCommand(Paths.agentctl, ["ps"], environment: ["AGENTOS_HOME": missing]).finish(timeout: 5)
        #expect(result.status == 3, "\(result.status == SIGKILL ? "still trying after 5 s" : result.stderr)")
        #expect(result.stderr.hasPrefix("agentctl: kernel not running at "), "\(result.stderr)")
    }

    @Test func socketLeftByADeadKernelExitsThree() async throws {
        let home = try EmptyHome()
        try makeDeadSocketFile(at: home.home.socketPath)
        let result = try await home.agentctl(["status"])
        #expect(result.status == 3, "\(result.status == SIGKILL ? "still trying after 5 s" : result.stderr)")
        #expect(result.stderr.hasPrefix("agentctl: kernel not running at "), "\(result.stderr)")
    }

    @Test func plainFileInPlaceOfTheSocketExitsThree() async throws {
        let home = try EmptyHome()
        try PluginFiles.write("not a socket", to: home.home.socketPath)
        let result = try await home.agentctl(["ps"])
        #expect(result.status == 3, "\(result.status == SIGKILL ? "still trying after 5 s" : result.stderr)")
        #expect(result.stderr.hasPrefix("agentctl: kernel not running at "), "\(result.stderr)")
    }

    static let usageErrors: [[String]] = [
        ["bogus"], ["load"], ["send", "echo"], ["ps", "-o", "yaml"], ["ps", "--bogus"],
        ["send", "echo", "hi", "--timeout", "0"], ["unload", "echo", "--timeout", "0"],
        ["unload", "echo", "--timeout", "-1"], ["logs", "echo", "--tail", "-1"], ["logs", "echo", "--tail", "many"],
    ]

    /// Usage is checked before the kernel is asked: these exit 2 even with no kernel.
    @Test(arguments: usageErrors)
    func usageErrorExitsTwo(_ arguments: [String]) async throws {
        let home = try EmptyHome()
        let result = try await home.agentctl(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("Error: "), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: agentctl"), "\(result.stderr)")
    }

    @Test func versionWorksWithoutAKernel() async throws {
        let home = try EmptyHome()
        let table = try await home.agentctl(["version"])
        #expect(table.status == 0, "\(table.status == SIGKILL ? "still trying after 5 s" : table.stderr)")
        #expect(table.stdout == "agentctl   0.1.0\nagentosd   not running at \(home.home.displaySocketPath)\n")
        let json = try await home.agentctl(["version", "-o", "json"])
        #expect(json.status == 0, "\(json.status == SIGKILL ? "still trying after 5 s" : json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["agentctl"] as? [String: Any])?["version"] as? String == "0.1.0")
        #expect(object["kernel"] is NSNull, "\(json.stdout)")
        let flag = try await home.agentctl(["--version"])
        #expect(flag.status == 0 && flag.stdout == "0.1.0\n")
    }

    @Test func helpExitsZero() async throws {
        let home = try EmptyHome()
        for arguments in [["--help"], ["load", "--help"], []] {
            let result = try await home.agentctl(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("USAGE: agentctl"), "\(arguments): \(result.stdout)")
        }
    }

    @Test func versionShowsTheRunningKernel() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let result = try await kernel.agentctlAsync("version")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "agentctl   0.1.0\nagentosd   0.1.0 (ABI 1.12)\n")
    }

    @Test func kernelRefusalExitsOneWithOneLineOnStderr() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for arguments in [["unload", "ghost"], ["send", "ghost", "hi"], ["logs", "ghost"], ["load", kernel.scratch("absent.so")]] {
            let result = try await kernel.startAgentctl(arguments).finish()
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)")
            #expect(result.stderr.hasPrefix("agentctl: ") && result.stderr.hasSuffix("\n"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(arguments): \(result.stderr)")
        }
        try await kernel.expectHealthy()
    }
}

/// An `AGENTOS_HOME` with no kernel in it, removed when released.
private final class EmptyHome: @unchecked Sendable {
    let home: AgentOSHome

    init() throws {
        home = AgentOSHome(path: KernelProcess.newRoot())
        try FileManager.default.createDirectory(atPath: home.path, withIntermediateDirectories: true)
    }

    /// Runs agentctl on this home. Finding no kernel takes a failed connect, not
    /// a wait: past 5 s the command is killed (status 9), which fails the test.
    func agentctl(_ arguments: [String]) async throws -> CommandResult {
        try await BackgroundCommand(Paths.agentctl, arguments, environment: ["AGENTOS_HOME": home.path]).finish(timeout: 5)
    }

    deinit { try? FileManager.default.removeItem(atPath: home.path) }
}
