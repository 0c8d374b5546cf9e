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
