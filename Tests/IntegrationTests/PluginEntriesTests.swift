import ControlAPI
import Foundation
import Glibc
import Testing

/// Entries that are not plain `.so` files, in `Plugins/` and given to
/// `agentctl load`; one private copy per plugin content; descriptors whose
/// size or tool table is nonsense.
@Suite(.serialized) struct PluginEntriesTests {
    // MARK: Symlinks in Plugins/

    @Test func symlinkToAPluginInPluginsIsLoaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let link = kernel.pluginsDirectory + "/echo.so"
        #expect(symlink(Paths.plugin("echo"), link) == 0)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        let echo = try await kernel.client.instance("echo")
        #expect(echo.origin == "plugins_dir")
        #expect(echo.plugin == link)
        #expect(try await kernel.ask("echo", "through a link") == "through a link")
    }

    @Test func symlinkWhoseTargetIsRewrittenIsReloaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let target = kernel.scratch("build/agent.so")
        try FileManager.default.createDirectory(atPath: kernel.scratch("build"), withIntermediateDirectories: true)
        try PluginFiles.write(try PluginFiles.bytes(of: "echo"), to: target)
        #expect(symlink(target, kernel.pluginsDirectory + "/agent.so") == 0)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })

        try PluginFiles.write(try PluginFiles.bytes(of: "counter"), to: target)  // rebuilt in place
        #expect(try await kernel.eventually { try await kernel.listed("counter")?.state == "running" })
        #expect(try await kernel.client.instances().map(\.name) == ["counter"])
        #expect(try await kernel.ask("counter", "x") == "1")
    }

    @Test func danglingSymlinkIsListedAsFailedAndLoadsOnceItsTargetExists() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let target = kernel.scratch("later.so")
        let link = kernel.pluginsDirectory + "/later.so"
        #expect(symlink(target, link) == 0)
        #expect(try await kernel.eventually { try await kernel.listed("later") != nil })
        let failed = try #require(try await kernel.listed("later"))
        #expect(failed.state == "failed")
        #expect(failed.lastError == "cannot load \(link): not a regular file: it is a symlink to \(target), which does not exist")

        try PluginFiles.write(try PluginFiles.bytes(of: "echo"), to: target)
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        #expect(try await kernel.listed("later") == nil, "the failure is cleared once the link loads")
    }

    // MARK: Other entries in Plugins/

    @Test func directoryFIFOAndSocketInPluginsAreListedAsNotRegularFiles() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let plugins = kernel.pluginsDirectory
        try FileManager.default.createDirectory(atPath: plugins + "/folder.so", withIntermediateDirectories: false)
        #expect(mkfifo(plugins + "/pipe.so", 0o600) == 0)
        let socket = try BoundSocket(plugins + "/socket.so")
        defer { socket.close() }
        let expected = ["folder": "a directory", "pipe": "a FIFO (named pipe)", "socket": "a socket"]
        for (name, kind) in expected {
            #expect(try await kernel.eventually { try await kernel.listed(name) != nil }, "\(name)")
            let entry = try #require(try await kernel.listed(name))
            #expect(entry.state == "failed")
            #expect(entry.origin == "plugins_dir")
            #expect(entry.lastError == "cannot load \(plugins)/\(name).so: not a regular file: it is \(kind) (give the path of a plugin's .so file)")
        }
        #expect(kernel.log().contains("not a regular file: it is a FIFO"), "the refusal is logged")
        // The watcher was not blocked by the FIFO: a plugin dropped after it loads.
        try PluginFiles.write(try PluginFiles.bytes(of: "echo"), to: plugins + "/echo.so")
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.state == "running" })
        try await kernel.expectHealthy()
    }

    @Test func pluginsPresentAtStartThatAreNotRegularFilesAreListedAsFailed() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/Plugins/folder.so", withIntermediateDirectories: true)
        #expect(mkfifo(root + "/Plugins/pipe.so", 0o600) == 0)
        #expect(symlink(Paths.plugin("echo"), root + "/Plugins/echo.so") == 0)
        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        #expect(try await kernel.eventually { try await kernel.client.instances(all: true).count == 3 })
        #expect(try await kernel.listed("echo")?.state == "running")
        #expect(try await kernel.listed("folder")?.lastError?.contains("it is a directory") == true)
        #expect(try await kernel.listed("pipe")?.lastError?.contains("it is a FIFO") == true)
    }

    // MARK: agentctl load

    @Test func fifoGivenToLoadIsRefusedAsNotRegularFileWithoutBlocking() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("pipe.so")
        #expect(mkfifo(path, 0o600) == 0)
        let message = await expectAPIError("not_regular_file", status: 422) { try await kernel.client.load(LoadRequest(path: path)) }
        #expect(message == "cannot load \(path): not a regular file: it is a FIFO (named pipe) (give the path of a plugin's .so file)")
        let load = try await kernel.agentctlAsync("load", path)
        #expect(load.status == 1)
        #expect(load.stderr == "agentctl: \(message)\n")
        try await kernel.expectHealthy()
    }

    @Test func danglingSymlinkGivenToLoadIsRefusedAsNotRegularFile() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let link = kernel.scratch("gone.so")
        #expect(symlink(kernel.scratch("absent.so"), link) == 0)
        let message = await expectAPIError("not_regular_file", status: 422) { try await kernel.client.load(LoadRequest(path: link)) }
        #expect(message.hasSuffix("it is a symlink to \(kernel.scratch("absent.so")), which does not exist"), "\(message)")
        #expect(kernel.privateCopies().isEmpty)
    }

    // MARK: One copy per content

    @Test func twoInstancesOfOneFileShareOnePrivateCopy() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo", as: "one")
        try await kernel.load("echo", as: "two")
        #expect(kernel.privateCopies().count == 1, "\(kernel.privateCopies())")
        _ = try await kernel.client.unload("one")
        #expect(kernel.privateCopies().count == 1)
        #expect(try await kernel.ask("two", "still loaded") == "still loaded")
        _ = try await kernel.client.unload("two")
        #expect(kernel.privateCopies().isEmpty, "the last unload closes the library and removes its copy")
    }

    @Test func toolPluginLoadedTwiceKeepsItsStaticsPerInstance() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("tooltypes", as: "t1")
        try await kernel.load("tooltypes", as: "t2")
        #expect(kernel.privateCopies().count == 2, "\(kernel.privateCopies())")
    }

    // MARK: Descriptors

    @Test func hugeDescriptorStructSizeIsRefusedAsStructTooLarge() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("struct_too_large", status: 422) { try await kernel.load("hugestruct") }
        #expect(message.contains("struct_size 2147483647 is larger than any descriptor"), "\(message)")
        #expect(try await kernel.client.instances(all: true).isEmpty, "init never ran")
        #expect(kernel.privateCopies().isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func toolPluginWithoutToolsIsRefusedAsBadDescriptor() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("bad_descriptor", status: 422) { try await kernel.load("notools") }
        #expect(message.contains("a tool plugin (kind AOS_KIND_TOOL) that declares no tools"), "\(message)")
        #expect(kernel.privateCopies().isEmpty)
        try await kernel.expectHealthy()
    }

    // MARK: A name freed

    @Test
    func pluginDroppedWhileItsNameIsTakenLoadsOnceTheNameIsFree() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let mine = try await kernel.load("echo")
        let path = kernel.pluginsDirectory + "/echo.so"
        try PluginFiles.write(try PluginFiles.bytes(of: "echo"), to: path)
        #expect(try await kernel.eventually { try await kernel.client.instances(all: true).contains { $0.state == "failed" } })
        _ = try await kernel.client.unload("echo")
        #expect(try await kernel.eventually {
            let echo = try await kernel.listed("echo")
            return echo?.origin == "plugins_dir" && echo?.state == "running"
        })
        let echo = try await kernel.client.instance("echo")
        #expect(echo.id != mine.id && echo.plugin == path)
    }
}

/// A Unix socket bound to a path (so the path is a socket file); not listening.
private struct BoundSocket {
    let descriptor: Int32

    init(_ path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw PluginFiles.Failure(description: "bind \(path): \(String(cString: strerror(errno)))") }
    }

    func close() { Glibc.close(descriptor) }
}
