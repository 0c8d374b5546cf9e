import ControlAPI
import Foundation
import Testing

/// `agentctl new` makes a project outside the repository that builds with
/// `make` and passes its own `make test` (a real kernel, and for an agent its
/// eval suite), in each language. (From an installed tree: InstallTests.)
@Suite(.serialized) struct NewProjectTests {
    @Test(arguments: [("c", "agent"), ("c", "tool"), ("cpp", "agent"), ("cpp", "tool"), ("swift", "agent")])
    func scaffoldedProjectBuildsAndPassesItsOwnTest(language: String, kind: String) async throws {
        let base = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let folder = base + "/my-\(language)-\(kind)"
        let new = try CommandResult.run(Paths.agentctl, ["new", "my-\(language)-\(kind)", "--lang", language, "--kind", kind, "--dir", folder])
        try #require(new.status == 0, "agentctl new: \(new.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder + "/evals/my-\(language)-\(kind).yaml") == (kind == "agent"))

        let test = await onThread {
            Result { try CommandResult.run(URL(fileURLWithPath: "/usr/bin/env"), ["make", "-C", folder, "--no-print-directory", "test"]) }
        }
        let result = try test.get()
        #expect(result.status == 0, "make test: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("test: my-\(language)-\(kind) passed"), "\(result.stdout)")
    }

    /// A tool parameter of a type the ABI cannot pass is a compile-time error, named.
    @Test func unsupportedSwiftToolTypeDoesNotCompile() async throws {
        let folder = try scaffold("badtype", language: "swift", kind: "tool")
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: folder).deletingLastPathComponent().path) }
        let source = folder + "/Sources/Badtype/Badtype.swift"
        let text = try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: #"Parameter<Double>("x", "the number to double")) { x in"#, with: #"Parameter<[Double]>("x")) { x in"#)
            .replacingOccurrences(of: "2 * x", with: "2 * x[0]")
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        let build = try await make(folder)
        #expect(build.status != 0)
        #expect(build.stdout.contains("'[Double]' conform to 'ToolArgument'") || build.stdout.contains("[Double]' does not conform to protocol 'ToolArgument'"),
                "\(build.stdout)\(build.stderr)")
    }

    /// AgentOSKit is compiled into each plugin with the header it ships: one built against
    /// a kit of another ABI major carries that major, and the handshake refuses it by name.
    @Test func pluginBuiltAgainstAnotherAgentOSKitIsRefusedByTheHandshake() async throws {
        let folder = try scaffold("otherkit", language: "swift", kind: "agent")
        let base = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let kit = base + "/other/AgentOSKit"
        try FileManager.default.createDirectory(atPath: base + "/other", withIntermediateDirectories: true)
        let copy = try CommandResult.run(URL(fileURLWithPath: "/bin/cp"), ["-RL", Paths.root.path + "/sdk/AgentOSKit", kit])
        try #require(copy.status == 0, "\(copy.stderr)")
        let header = kit + "/Sources/CAgentOSKit/include/agentos.h"
        try String(contentsOfFile: header, encoding: .utf8).replacingOccurrences(of: "#define AOS_ABI_MAJOR 1", with: "#define AOS_ABI_MAJOR 2")
            .write(toFile: header, atomically: true, encoding: .utf8)
        let manifest = folder + "/Package.swift"
        try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(of: Paths.root.path + "/sdk/AgentOSKit", with: kit)
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        let build = try await make(folder, "otherkit.so")
        try #require(build.status == 0, "\(build.stdout)\(build.stderr)")

        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("abi_mismatch", status: 422) { try await kernel.client.load(LoadRequest(path: folder + "/otherkit.so")) }
        #expect(message.contains("ABI major 2, kernel speaks 1"), "\(message)")
        try await kernel.expectHealthy()
    }

    private func scaffold(_ name: String, language: String, kind: String) throws -> String {
        let base = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let folder = base + "/" + name
        let new = try CommandResult.run(Paths.agentctl, ["new", name, "--lang", language, "--kind", kind, "--dir", folder])
        try #require(new.status == 0, "agentctl new: \(new.stderr)")
        return folder
    }

    private func make(_ folder: String, _ targets: String...) async throws -> CommandResult {
        try await onThread {
            Result { try CommandResult.run(URL(fileURLWithPath: "/usr/bin/env"), ["make", "-C", folder, "--no-print-directory"] + targets) }
        }.get()
    }

    @Test func refusesABadNameAndAnExistingFolder() throws {
        let bad = try CommandResult.run(Paths.agentctl, ["new", "9lives", "--lang", "c"])
        #expect(bad.status == 2 && bad.stderr.contains("\"9lives\" is not a plugin name"), "\(bad.stderr)")
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let taken = try CommandResult.run(Paths.agentctl, ["new", "x", "--lang", "swift", "--dir", root])
        #expect(taken.status == 1 && taken.stderr.contains("agentctl: cannot create \(root): \(root) already exists"), "\(taken.stderr)")
    }
}
