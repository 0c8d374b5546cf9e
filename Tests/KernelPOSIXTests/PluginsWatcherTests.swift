import AgentOSTesting
import Foundation
import KernelCore
import KernelPOSIX
import Logging
import Testing

/// The Plugins/ watcher with a kernel in this process and real plugin files.
@Suite struct PluginsWatcherTests {
    /// A file refused because another instance held its name waits, and is
    /// loaded once the kernel says the name is free (the kernel calls
    /// `nameFreed` as an instance leaves its process table; here the test does).
    @Test(.timeLimit(.minutes(1))) func fileRefusedForATakenNameLoadsWhenTheNameIsFreed() async throws {
        let setup = try WatchedFolder()
        defer { setup.remove() }
        let kernel = setup.kernel
        let running = Task { try await setup.watcher.run(scanned: setup.scanned) }
        defer { running.cancel() }
        await setup.waitUntilScanned()

        let mine = try await kernel.lifecycle.load(path: pluginPath("echo"))
        let dropped = setup.plugins + "/echo.so"
        try Data(try PluginBytes.of("echo")).write(to: URL(fileURLWithPath: dropped))
        #expect(await waitUntil { kernel.summaries(all: true).contains { $0.state == .failed && $0.plugin == dropped } })
        #expect(kernel.instance(named: "echo")?.id == mine.id, "the running one is untouched")

        _ = try await kernel.lifecycle.unload(name: "echo", timeout: 5)
        setup.watcher.nameFreed("echo")
        #expect(await waitUntil { kernel.instance(named: "echo")?.origin == .pluginsDir })
        #expect(kernel.instance(named: "echo")?.image.sourcePath == dropped)
        #expect(!kernel.summaries(all: true).contains { $0.state == .failed && $0.plugin == dropped }, "the failure is cleared once it loads")
        await kernel.lifecycle.shutdown(timeout: 5)
    }

    /// A name freed while nothing waits for one changes nothing; a waiting file
    /// whose name is still taken keeps waiting, and loads at a later free name.
    @Test(.timeLimit(.minutes(1))) func waitingFileStaysWaitingWhileItsNameIsStillTaken() async throws {
        let setup = try WatchedFolder()
        defer { setup.remove() }
        let kernel = setup.kernel
        let running = Task { try await setup.watcher.run(scanned: setup.scanned) }
        defer { running.cancel() }
        await setup.waitUntilScanned()

        let mine = try await kernel.lifecycle.load(path: pluginPath("echo"))
        _ = try await kernel.lifecycle.load(path: pluginPath("counter"))
        let dropped = setup.plugins + "/echo.so"
        try Data(try PluginBytes.of("echo")).write(to: URL(fileURLWithPath: dropped))
        #expect(await waitUntil { kernel.summaries(all: true).contains { $0.state == .failed && $0.plugin == dropped } })

        _ = try await kernel.lifecycle.unload(name: "counter", timeout: 5)
        setup.watcher.nameFreed("counter")
        // Changes are handled in order: once this drop is loaded, the retry above was made.
        try Data(try PluginBytes.of("counter")).write(to: URL(fileURLWithPath: setup.plugins + "/counter.so"))
        #expect(await waitUntil { kernel.instance(named: "counter")?.origin == .pluginsDir })
        #expect(kernel.instance(named: "echo")?.id == mine.id)
        #expect(kernel.summaries(all: true).contains { $0.state == .failed && $0.plugin == dropped }, "still listed as failed")

        _ = try await kernel.lifecycle.unload(name: "echo", timeout: 5)
        setup.watcher.nameFreed("echo")
        #expect(await waitUntil { kernel.instance(named: "echo")?.origin == .pluginsDir })
        await kernel.lifecycle.shutdown(timeout: 5)
    }
}

/// A temporary folder with `Plugins/`, a kernel loading with dlopen, and a watcher on the folder.
private final class WatchedFolder: Sendable {
    let root: String
    let plugins: String
    let kernel: Kernel
    let watcher: PluginsWatcher
    private let scannedSignal: AsyncStream<Void>
    private let scannedSink: AsyncStream<Void>.Continuation

    init() throws {
        root = NSTemporaryDirectory() + "agentos-watcher-\(UUID().uuidString.prefix(8))"
        plugins = root + "/Plugins"
        kernel = try TestKernel.withPluginFiles(copies: root + "/copies")
        watcher = PluginsWatcher(directory: plugins, kernel: kernel, logger: Logger(label: "watcher-test"))
        (scannedSignal, scannedSink) = AsyncStream.makeStream(of: Void.self)
    }

    var scanned: @Sendable () -> Void { { [scannedSink] in scannedSink.yield() } }

    func waitUntilScanned() async {
        for await _ in scannedSignal { return }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
