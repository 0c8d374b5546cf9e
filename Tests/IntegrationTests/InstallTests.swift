import ControlAPI
import ControlClient
import Foundation
import Testing

/// `make install PREFIX=DIR` gives a tree that runs from anywhere: installed,
/// moved elsewhere, the kernel starts with no path into this checkout and no
/// LD_LIBRARY_PATH, agentctl loads an installed example into it, and `agentctl new`
/// makes projects that build against the installed header and AgentOSKit.
@Suite struct InstallTests {
    @Test func anInstalledTreeStillRunsAfterItIsMoved() async throws {
        let base = KernelProcess.newRoot()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let installed = base + "/installed", moved = base + "/elsewhere/agentos"
        // The binaries this test run already has (INSTALL_FROM): no swift build inside swift test.
        let make = await onThread {
            Result {
                try CommandResult.run(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    ["make", "-C", Paths.root.path, "--no-print-directory", "install",
                     "PREFIX=\(installed)", "INSTALL_FROM=\(Paths.products.path)"])
            }
        }
        let install = try make.get()
        try #require(install.status == 0, "make install failed: \(install.stdout)\(install.stderr)")
        for file in ["bin/agentosd", "bin/agentctl", "lib/agentos/libllama.so.0", "include/agentos.h", "include/agentos.hpp",
                     "share/agentos/AgentOSKit/Package.swift", "share/agentos/AgentOSKit/Sources/CAgentOSKit/include/agentos.h",
                     "share/agentos/plugins/echo.so", "share/agentos/examples/echo"] {
            #expect(FileManager.default.fileExists(atPath: installed + "/" + file), "make install left out \(file)")
        }

        try FileManager.default.createDirectory(atPath: base + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: installed, toPath: moved)
        let noLibraryPath = ["LD_LIBRARY_PATH": ""]
        let kernel = try await KernelProcess(
            agentosd: URL(fileURLWithPath: moved + "/bin/agentosd"), environment: noLibraryPath)
        let agentctl = URL(fileURLWithPath: moved + "/bin/agentctl")
        let environment = noLibraryPath.merging(["AGENTOS_HOME": kernel.home.path]) { $1 }

        let status = try CommandResult.run(agentctl, ["status"], environment: environment)
        #expect(status.status == 0, "agentctl status: \(status.stderr)")
        let load = try CommandResult.run(
            agentctl, ["load", moved + "/share/agentos/plugins/echo.so", "--name", "moved-echo"], environment: environment)
        #expect(load.status == 0, "agentctl load: \(load.stderr)")
        let send = try CommandResult.run(agentctl, ["send", "moved-echo", "from elsewhere", "--wait"], environment: environment)
        #expect(send.stdout.contains("from elsewhere"), "agentctl send: \(send.stdout)\(send.stderr)")

        // agentctl new finds the header and AgentOSKit in the moved tree, and the projects test with its binaries.
        for language in ["c", "swift"] {
            let folder = base + "/project-\(language)"
            let new = try CommandResult.run(agentctl, ["new", "inst-\(language)", "--lang", language, "--dir", folder], environment: environment)
            #expect(new.status == 0, "agentctl new: \(new.stderr)")
            let test = await onThread {
                Result { try CommandResult.run(URL(fileURLWithPath: "/usr/bin/env"), ["make", "-C", folder, "--no-print-directory", "test"], environment: noLibraryPath) }
            }
            let result = try test.get()
            #expect(result.stdout.contains("test: inst-\(language) passed"), "make test of a \(language) project: \(result.stdout)\(result.stderr)")
            let manifests = ["Makefile", "Package.swift", "test.sh"].compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
            #expect(!manifests.joined().contains(Paths.root.path), "the \(language) project refers to the checkout")
        }

        let (exitStatus, log) = kernel.stop()
        #expect(exitStatus == 0, "the moved agentosd did not exit cleanly: \(log)")
    }
}
