import ControlAPI
import Foundation
import Testing

/// A process-mode host's Landlock ruleset: its plugin reads the system's
/// files and its own, writes only the null-like devices, and cannot open,
/// create or truncate anything in the kernel's home, the user's files or
/// /tmp, nor read another process's /proc entries (the kernel's environment). Refusals are errors
/// the plugin sees (EACCES), not crashes. On a Linux without Landlock the
/// host says so in its log and the refusals are not expected.
@Suite(.serialized) struct HostFileConfinementTests {
    private let refused = "refused: Permission denied"

    /// A kernel with fileprobe loaded in process mode, and the Landlock ABI its host has (nil: none).
    private func kernelWithProbe(grants: [String] = []) async throws -> (KernelProcess, Int?) {
        let kernel = try await KernelProcess()
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("fileprobe"), grants: grants.isEmpty ? nil : grants, isolation: "process"))
        return (kernel, Int(try await kernel.ask("fileprobe", "landlock")))
    }

    @Test func aPluginReadsTheSystemButNotTheKernelsHomeTheUsersFilesOrTmp() async throws {
        let (kernel, abi) = try await kernelWithProbe()
        defer { kernel.stop() }
        let probe = { (text: String) in try await kernel.ask("fileprobe", text) }
        #expect(try await probe("read /etc/passwd") == "allowed")
        #expect(try await probe("read /usr/lib/os-release") == "allowed")
        #expect(try await probe("write /dev/null") == "allowed")

        let database = kernel.home.path + "/state.sqlite"
        let outside = kernel.scratch("outside.txt")
        FileManager.default.createFile(atPath: outside, contents: Data("secret".utf8))
        guard let abi else { return }  // no Landlock: the host runs with seccomp and rlimits only
        #expect(try await probe("read \(database)") == refused)
        #expect(try await probe("write \(kernel.home.path)/planted") == refused)
        #expect(try await probe("read \(outside)") == refused)
        #expect(try await probe("write /tmp/agentos-fileprobe-\(getpid())") == refused)
        #expect(try await probe("write /etc/agentos-fileprobe") == refused)
        #expect(try await probe("read /proc/\(kernel.process.processIdentifier)/environ") == refused)
        #expect(try await probe("read /proc/\(kernel.process.processIdentifier)/maps") == refused)
        #expect(try await probe("read /proc/self/maps") == "allowed")
        if abi >= 3 { #expect(try await probe("truncate \(database)") == refused) }
        // Nothing was created, the database is whole, and refusals are answers, not crashes.
        #expect(!FileManager.default.fileExists(atPath: kernel.home.path + "/planted"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/agentos-fileprobe-\(getpid())"))
        #expect(try #require(try await kernel.listed("fileprobe")).host?.restarts == 0)
        try await kernel.expectHealthy()
    }

    @Test func spawnLetsAPluginRunSystemProgramsButNotReadTheKernelsFiles() async throws {
        let (kernel, abi) = try await kernelWithProbe(grants: ["spawn"])
        defer { kernel.stop() }
        guard abi != nil else { return }
        #expect(try await kernel.ask("fileprobe", "read \(kernel.home.path)/state.sqlite") == refused)
        // crasher's "exec" runs /bin/true in a child: with spawn the ruleset lets it execute.
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("crasher"), grants: ["spawn"], isolation: "process"))
        #expect(try await kernel.ask("crasher", "exec") == "allowed")
    }

    @Test func aSwiftPluginFindsItsRuntimeUnderConfinement() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("swiftecho"), isolation: "process"))
        #expect(try await kernel.ask("swiftecho", "hello from a confined host") == "hello from a confined host")
    }
}
