import ControlAPI
import Foundation
import Testing

/// The watched `Plugins/` folder: a `.so` dropped in is loaded once it is
/// complete, a removed one unloaded, a replaced one reloaded; a bad one is
/// listed as failed with its reason and retried when it changes.
@Suite(.serialized) struct PluginsFolderTests {
    @Test func droppedPluginIsLoadedUnderItsDescriptorName() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/echo.so"
        try FileManager.default.copyItem(atPath: Paths.plugin("echo"), toPath: path)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        let echo = try await kernel.client.instance("echo")
        #expect(echo.origin == "plugins_dir")
        #expect(echo.plugin == path)
        #expect(try await kernel.ask("echo", "dropped in") == "dropped in")
    }

    @Test func removedPluginIsUnloaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/echo.so"
        try drop("echo", at: path)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        try FileManager.default.removeItem(atPath: path)
        #expect(try await kernel.eventually { try await kernel.client.instances().isEmpty })
        #expect(try await kernel.listed("echo")?.state == "stopped")
        try await kernel.expectHealthy()
    }

    @Test func pluginReplacedInPlaceIsReloaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/x.so"
        try drop("echo", at: path)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        try drop("counter", at: path)  // the same file name, new contents
        #expect(try await kernel.eventually { try await kernel.listed("counter")?.state == "running" })
        #expect(try await kernel.listed("echo")?.state == "stopped")
        #expect(try await kernel.client.instances().map(\.name) == ["counter"])
        #expect(try await kernel.client.instance("counter").plugin == path)
        #expect(try await kernel.ask("counter", "x") == "1")
    }

    @Test func pluginReplacedByRenameIsReloaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/x.so"
        try drop("echo", at: path)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        let staging = kernel.pluginsDirectory + "/x.so.part"  // not a .so: ignored until renamed
        try drop("counter", at: staging)
        #expect(rename(staging, path) == 0)
        #expect(try await kernel.eventually { try await kernel.listed("counter")?.state == "running" })
        #expect(try await kernel.client.instances().map(\.name) == ["counter"])
    }

    @Test func pluginMovedInIsLoaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let outside = kernel.scratch("echo.so")
        try drop("echo", at: outside)
        #expect(rename(outside, kernel.pluginsDirectory + "/echo.so") == 0)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
    }

    @Test func halfWrittenPluginIsLoadedOnlyAfterClose() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let bytes = try PluginFiles.bytes(of: "echo")
        let file = try PluginFiles.open(kernel.pluginsDirectory + "/echo.so")
        try PluginFiles.write(bytes[..<(bytes.count / 2)], to: file)
        // The watcher handles events in order: once a plugin moved in after it is
        // loaded, the half-written file's creation has been seen too.
        let outside = kernel.scratch("counter.so")
        try drop("counter", at: outside)
        #expect(rename(outside, kernel.pluginsDirectory + "/counter.so") == 0)
        #expect(try await kernel.eventually { try await kernel.listed("counter")?.state == "running" })
        #expect(try await kernel.client.instances(all: true).map(\.name) == ["counter"], "echo neither loaded nor failed while half written")
        try PluginFiles.write(bytes[(bytes.count / 2)...], to: file)
        close(file)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        #expect(try await kernel.client.instances(all: true).count == 2, "loaded once, with no failure before")
    }

    @Test func badPluginIsListedAsFailedAndRetriedWhenItChanges() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/bad.so"
        try PluginFiles.write("not a plugin\n", to: path)
        #expect(try await kernel.eventually { try await kernel.listed("bad") != nil })
        let bad = try #require(try await kernel.listed("bad"))
        #expect(bad.state == "failed")
        #expect(bad.origin == "plugins_dir")
        #expect(bad.plugin == path)
        #expect(bad.lastError?.hasPrefix("cannot load \(path): not an ELF file") == true, "\(bad.lastError ?? "nil")")
        let ps = try await kernel.agentctlAsync("ps", "-a")
        #expect(ps.stdout.contains("not an ELF file"), "\(ps.stdout)")
        try await kernel.expectHealthy()

        try drop("echo", at: path)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        #expect(try await kernel.listed("bad") == nil, "the failure is cleared once the file loads")
    }

    @Test func droppedPluginWhoseInitFailsIsListedAsFailed() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try drop("failinit", at: kernel.pluginsDirectory + "/failinit.so")
        #expect(try await kernel.eventually { try await kernel.listed("failinit") != nil })
        let failed = try #require(try await kernel.listed("failinit"))
        #expect(failed.state == "failed")
        #expect(failed.origin == "plugins_dir")
        #expect(failed.lastError?.contains("AOS_EPERM") == true, "\(failed.lastError ?? "nil")")
        try await kernel.expectHealthy()
    }

    @Test func droppedPluginWhoseNameIsTakenIsListedAsFailed() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let loaded = try await kernel.load("echo")
        let path = kernel.pluginsDirectory + "/echo.so"
        try drop("echo", at: path)
        #expect(try await kernel.eventually { try await kernel.client.instances(all: true).count == 2 })
        let failed = try #require(try await kernel.client.instances(all: true).first { $0.state == "failed" })
        #expect(failed.plugin == path)
        #expect(failed.lastError?.contains("an instance named echo is already running") == true, "\(failed.lastError ?? "nil")")
        #expect(try await kernel.client.instance("echo").id == loaded.id, "the running one is untouched")
        #expect(try await kernel.ask("echo", "still mine") == "still mine")
    }

    @Test func filesThatAreNotPluginsAreIgnored() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for name in ["echo.so.bak", ".hidden.so", "echo", "notes.txt"] {
            try drop("echo", at: kernel.pluginsDirectory + "/" + name)
        }
        // Changes are handled in order: once this one is loaded, the others were seen.
        try drop("counter", at: kernel.pluginsDirectory + "/counter.so")
        #expect(try await kernel.eventually { try await kernel.listed("counter")?.state == "running" })
        #expect(try await kernel.client.instances(all: true).map(\.name) == ["counter"])
    }

    @Test func pluginsPresentAtStartAreLoaded() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/Plugins", withIntermediateDirectories: true)
        try drop("echo", at: root + "/Plugins/echo.so")
        try drop("counter", at: root + "/Plugins/counter.so")
        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instances().count == 2 })
        #expect(try await kernel.client.instances().allSatisfy { $0.origin == "plugins_dir" })
        #expect(try await kernel.ask("echo", "was here first") == "was here first")
    }

    /// Removing a dropped file unloads the instance it loaded — not another
    /// instance that took the same name after that one was unloaded by hand.
    @Test func removingADroppedFileLeavesAnotherInstanceOfTheSameNameAlone() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/echo.so"
        try drop("echo", at: path)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        _ = try await kernel.client.unload("echo")
        let mine = try await kernel.load("echo")  // agentctl's own echo, from build/plugins
        try FileManager.default.removeItem(atPath: path)
        // Changes are handled in order: once counter is loaded, the removal was handled.
        try drop("counter", at: kernel.pluginsDirectory + "/counter.so")
        #expect(try await kernel.eventually { try await kernel.listed("counter")?.state == "running" })
        let echo = try await kernel.listed("echo")
        #expect(echo?.id == mine.id)
        #expect(echo?.state == "running", "agentctl's echo was unloaded by the removal of another file")
    }

    /// Writes the built plugin `plugin` to `path` in one open-write-close.
    private func drop(_ plugin: String, at path: String) throws {
        try PluginFiles.write(try PluginFiles.bytes(of: plugin), to: path)
    }
}
