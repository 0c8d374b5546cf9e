import ControlAPI
import ControlClient
import Foundation
import Testing

/// A thread-mode crash cannot be survived in-process: the kernel's fatal-signal
/// handler writes a crash record to `$AGENTOS_HOME/crash/` naming the instance
/// whose thread faulted, the signal and the function, and dies of the signal.
/// The next start reports it (log, `agentctl status`, `ps -a`, `agentctl
/// crashes`) and does not load that plugin's content by itself (restore,
/// Plugins/) until the file changes or the user loads or clears it. Real
/// kernels on one home, the real `crasher` fixture.
@Suite(.serialized) struct CrashRecordTests {
    init() {
        // The default, short report (FatalPathTests): the handler writes the record either way.
        unsetenv("SWIFT_BACKTRACE")
    }

    /// The records in the kernel's crash folder, by file name.
    private static func records(_ kernel: KernelProcess) -> [String: String] {
        let folder = kernel.home.crashRecordsPath
        var records: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            records[name] = (try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)) ?? ""
        }
        return records
    }

    /// Sends `text` to `name` without waiting: the kernel ends before it could answer.
    private static func crash(_ kernel: KernelProcess, _ name: String, with text: String, signal: Int32) async {
        _ = try? await kernel.client.send(name, SendRequest(text: text, wait: false, timeoutMs: 0))
        #expect(await kernel.waitForExit() == signal, "\(kernel.log())")
        #expect(kernel.process.terminationReason == .uncaughtSignal)
    }

    /// A new kernel on `kernel`'s home (which has exited), once its restore is over.
    private static func restarted(on kernel: KernelProcess) async throws -> KernelProcess {
        let next = try await KernelProcess(root: kernel.root)
        _ = try await next.eventually(60) { try await next.client.status().restore?.state == "done" }
        return next
    }

    /// SIGTERM and wait, keeping the home (unlike `stop()`).
    private static func gracefulStop(_ kernel: KernelProcess) async {
        kernel.signal(SIGTERM)
        #expect(await kernel.waitForExit() == 0)
    }

    private static func expectOK(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// The line of `key` in a record's text ("key value"), without the key.
    private static func field(_ key: String, in record: String) -> String? {
        record.split(separator: "\n").first { $0.hasPrefix(key + " ") }.map { String($0.dropFirst(key.count + 1)) }
    }

    @Test func segfaultingHandlerLeavesARecordAndTheNextStartReportsItAndLoadsOnlyTheOthers() async throws {
        let first = try await KernelProcess()
        let crasherFile = first.scratch("crasher.so")
        try FileManager.default.copyItem(atPath: Paths.plugin("crasher"), toPath: crasherFile)
        Self.expectOK(try first.agentctl("load", crasherFile, "--name", "crasher"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("echo"), "--name", "echo-a"))
        #expect(try await first.ask("crasher", "hello") == "hello")
        await Self.crash(first, "crasher", with: "segv", signal: SIGSEGV)

        // The record names the instance, the signal and the fixture's function.
        let records = Self.records(first)
        #expect(records.count == 1, "\(records.keys)")
        let record = try #require(records.values.first)
        #expect(record.hasPrefix("agentos-crash 1\n") && record.hasSuffix("\nend\n"), "\(record)")
        #expect(Self.field("instance", in: record) == "crasher", "\(record)")
        #expect(Self.field("signal", in: record) == "SIGSEGV", "\(record)")
        #expect(Self.field("pc_symbol", in: record) == "crasher_fault", "\(record)")
        #expect(Self.field("plugin_symbol", in: record) == "crasher_fault", "\(record)")
        #expect(Self.field("plugin", in: record) == crasherFile, "\(record)")
        #expect(Self.field("plugin_sha256", in: record)?.count == 64, "\(record)")
        #expect(Self.field("fault_address", in: record) == "0x0", "\(record)")
        let log = first.log()
        #expect(log.contains("agentosd: fatal SIGSEGV in plugin instance crasher (thread aos:crasher)"), "\(log)")
        #expect(log.contains("agentosd: crash record \(first.home.crashRecordsPath)/crash-"), "\(log)")

        // The same content dropped in Plugins/ while the kernel is down.
        try FileManager.default.copyItem(atPath: crasherFile, toPath: first.pluginsDirectory + "/crasher-drop.so")
        let second = try await Self.restarted(on: first)
        defer { second.stop() }
        let reason = "crashed: SIGSEGV in crasher_fault (crasher.so+0x"

        // Its log, `agentctl status`, `ps -a` and `agentctl crashes`.
        #expect(second.log().contains("the kernel crashed before this start: \(reason)"), "\(second.log())")
        let status = try await second.client.status()
        let crashes = try #require(status.crashes)
        #expect(crashes.crashes.map(\.name) == ["crasher"])
        #expect(crashes.crashes.first?.reason.hasPrefix(reason) == true, "\(crashes)")
        #expect(crashes.crashes.first?.blocksPlugin == true)
        let statusText = try second.agentctl("status")
        #expect(statusText.stdout.contains("crasher: \(reason)"), "\(statusText.stdout)")
        let ps = try second.agentctl("ps", "-a")
        #expect(ps.stdout.split(separator: "\n").contains { $0.hasPrefix("crasher ") && $0.contains("failed") && $0.contains(reason) }, "\(ps.stdout)")
        let listed = try second.agentctl("crashes")
        #expect(listed.stdout.contains("crasher") && listed.stdout.contains("SIGSEGV") && listed.stdout.contains("crasher_fault"), "\(listed.stdout)")

        // Not restored, not loaded from Plugins/; the other instance is back.
        let restore = try #require(status.restore)
        #expect(restore.restored == ["echo-a"])
        #expect(restore.notRestored.map(\.name) == ["crasher"])
        #expect(restore.notRestored.first?.reason.contains(reason) == true, "\(restore.notRestored)")
        #expect(try await second.ask("echo-a", "still here") == "still here")
        let droppedRefused = try await second.eventually {
            try await second.client.instances(all: true).contains { $0.name == "crasher-drop" && $0.state == "failed" && ($0.lastError ?? "").contains(reason) }
        }
        let rows = try await second.client.instances(all: true).map { ($0.name, $0.state, $0.lastError) }
        #expect(droppedRefused, "\(rows)")
        #expect(try await second.client.instances().map(\.name) == ["echo-a"])

        // `agentctl load` of the same file works and clears the record.
        Self.expectOK(try second.agentctl("load", crasherFile, "--name", "crasher"))
        #expect(try await second.ask("crasher", "back") == "back")
        #expect(Self.records(second).isEmpty, "\(Self.records(second).keys)")
        #expect(try await second.client.status().crashes?.crashes.isEmpty == true)
        #expect(second.log().contains("crash record cleared: loaded again with `agentctl load`"), "\(second.log())")
    }

    @Test func changedFileInPluginsLoadsAgainAndClearsTheRecord() async throws {
        let first = try await KernelProcess()
        let dropped = first.pluginsDirectory + "/crasher.so"
        try FileManager.default.copyItem(atPath: Paths.plugin("crasher"), toPath: dropped)
        #expect(try await first.eventually { try await first.client.instances().contains { $0.name == "crasher" } })
        await Self.crash(first, "crasher", with: "segv", signal: SIGSEGV)
        #expect(Self.records(first).count == 1)

        // Unchanged: the next start does not load it.
        let second = try await Self.restarted(on: first)
        #expect(try await second.eventually {
            try await second.client.instances(all: true).contains { $0.name == "crasher" && $0.state == "failed" && ($0.lastError ?? "").contains("crashed: SIGSEGV") }
        })
        #expect(try await !second.client.instances().contains { $0.name == "crasher" })
        await Self.gracefulStop(second)

        // Changed (a rebuilt plugin): loaded, and the record is gone.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dropped))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 0, count: 64))
        try handle.close()
        let third = try await Self.restarted(on: second)
        defer { third.stop() }
        #expect(try await third.eventually { try await third.client.instances().contains { $0.name == "crasher" } })
        #expect(try await third.ask("crasher", "new build") == "new build")
        #expect(Self.records(third).isEmpty, "\(Self.records(third).keys)")
        #expect(third.log().contains("crash record cleared: its file changed"), "\(third.log())")
    }

    @Test func abortNamesThePluginsFrameAndCrashesClearLetsItLoadAgain() async throws {
        let first = try await KernelProcess()
        Self.expectOK(try first.agentctl("load", Paths.plugin("crasher"), "--name", "aborter"))
        await Self.crash(first, "aborter", with: "abort", signal: SIGABRT)
        let record = try #require(Self.records(first).values.first)
        #expect(Self.field("instance", in: record) == "aborter", "\(record)")
        #expect(Self.field("signal", in: record) == "SIGABRT", "\(record)")
        #expect(Self.field("plugin_symbol", in: record) == "crasher_abort", "\(record)")

        let second = try await Self.restarted(on: first)
        let status = try second.agentctl("status")
        #expect(status.stdout.contains("aborter: crashed: SIGABRT in crasher_abort (crasher.so+0x"), "\(status.stdout)")
        #expect(try await second.client.status().restore?.notRestored.map(\.name) == ["aborter"])

        // Cleared by name: the next start restores it.
        let cleared = try second.agentctl("crashes", "clear", "aborter")
        Self.expectOK(cleared)
        #expect(cleared.stdout.contains("cleared 1 crash record"), "\(cleared.stdout)")
        #expect(Self.records(second).isEmpty)
        let again = try second.agentctl("crashes", "clear", "aborter")
        #expect(again.status == 1 && again.stderr.contains("no crash record of aborter"), "\(again.stderr)")
        await Self.gracefulStop(second)
        let third = try await Self.restarted(on: second)
        defer { third.stop() }
        #expect(try await third.client.status().restore?.restored == ["aborter"])
        #expect(try await third.ask("aborter", "hi") == "hi")
    }

    /// The handler runs on the instance thread's alternate signal stack, so a
    /// stack overflow is recorded too, and its plugin is not restored.
    @Test func stackOverflowIsRecordedAgainstItsInstance() async throws {
        let first = try await KernelProcess()
        Self.expectOK(try first.agentctl("load", Paths.plugin("overflow")))
        await Self.crash(first, "overflow", with: "overflow", signal: SIGSEGV)
        let record = try #require(Self.records(first).values.first)
        #expect(Self.field("instance", in: record) == "overflow", "\(record)")
        #expect(Self.field("signal", in: record) == "SIGSEGV", "\(record)")
        #expect(Self.field("plugin", in: record) == Paths.plugin("overflow"), "\(record)")

        let second = try await Self.restarted(on: first)
        defer { second.stop() }
        let crash = try #require(try await second.client.crashes().crashes.first)
        #expect(crash.reason.hasPrefix("crashed: SIGSEGV in overflow.so+0x"), "\(crash.reason)")
        #expect(try await second.client.status().restore?.notRestored.map(\.name) == ["overflow"])
    }

    /// A thread-safe tool runs on its caller's thread: here a control API
    /// thread, the kernel's own. The record names no instance, but the tool and
    /// the plugin whose code faulted, which is then not restored.
    @Test func crashOnAKernelThreadNamesNoInstanceButTheToolAndItsPlugin() async throws {
        let first = try await KernelProcess()
        Self.expectOK(try first.agentctl("load", Paths.plugin("crashtool")))
        _ = try? await first.client.callTool("crashtool.deref", arguments: "{}")
        #expect(await first.waitForExit() == SIGSEGV, "\(first.log())")
        let record = try #require(Self.records(first).values.first)
        #expect(Self.field("instance", in: record) == nil, "\(record)")
        #expect(Self.field("tool", in: record) == "crashtool.deref", "\(record)")
        #expect(!(Self.field("thread", in: record) ?? "").hasPrefix("aos:"), "\(record)")
        #expect(Self.field("plugin", in: record) == Paths.plugin("crashtool"), "\(record)")

        let second = try await Self.restarted(on: first)
        defer { second.stop() }
        let crash = try #require(try await second.client.crashes().crashes.first)
        #expect(crash.name == "crashtool" && crash.instance == nil && crash.tool == "crashtool.deref", "\(crash)")
        #expect(crash.reason.hasPrefix("crashed: SIGSEGV in crashtool.so+0x") && crash.reason.contains("(tool crashtool.deref)"), "\(crash.reason)")
        #expect(try await second.client.status().restore?.notRestored.map(\.name) == ["crashtool"])
    }

    /// Process mode is where a crash is survived: the host dies, not the kernel, and no record is written.
    @Test func processModeCrashWritesNoRecord() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        Self.expectOK(try kernel.agentctl("load", Paths.plugin("crasher"), "--isolation", "process", "--restart", "temporary"))
        await expectAPIError("crashed") { try await kernel.ask("crasher", "segv") }
        #expect(kernel.process.isRunning)
        #expect(Self.records(kernel).isEmpty, "\(Self.records(kernel))")
        try await kernel.expectHealthy()
    }

    @Test func garbageTruncatedAndOversizeFilesAreReportedAndIgnored() async throws {
        let root = KernelProcess.newRoot()
        let folder = root + "/home/crash"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try PluginFiles.write([0xFF, 0x00, 0x13, 0x37, 0x0A], to: folder + "/crash-1-1.txt")
        try PluginFiles.write("agentos-crash 1\ntime_ms 1733420000000\npid 7\nsignal SIGSEGV\n", to: folder + "/crash-2-2.txt")
        try PluginFiles.write(String(repeating: "x", count: 70_000), to: folder + "/crash-3-3.txt")
        try PluginFiles.write("agentos-crash 1\ntime_ms 1733420000000\npid 7\nsignal SIGSEGV\nsignal_number 11\nend\n", to: folder + "/crash-4-4.txt")
        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        let list = try await kernel.client.crashes()
        #expect(list.crashes.map(\.file) == ["crash-4-4.txt"])
        #expect(list.crashes.first?.name == "kernel" && list.crashes.first?.blocksPlugin == false, "\(list)")
        let problems = Dictionary(uniqueKeysWithValues: list.unreadable.map { ($0.file, $0.problem) })
        #expect(problems["crash-1-1.txt"] == "not UTF-8 text", "\(problems)")
        #expect(problems["crash-2-2.txt"] == "cut short (no \"end\" line)", "\(problems)")
        #expect(problems["crash-3-3.txt"]?.contains("at most 65536") == true, "\(problems)")
        #expect(kernel.log().contains("ignoring a file in the crash folder that is not a crash record"), "\(kernel.log())")
        let status = try kernel.agentctl("status")
        #expect(status.stdout.contains("unreadable crash-2-2.txt: cut short"), "\(status.stdout)")
        try await kernel.expectHealthy()

        let cleared = try kernel.agentctl("crashes", "clear", "--all")
        #expect(cleared.stdout.contains("cleared 4 crash records"), "\(cleared.stdout)")
        #expect(Self.records(kernel).isEmpty)
        #expect(try await kernel.client.crashes() == CrashList(crashes: []))
    }

    @Test func onlyTheNewestRecordsAreKept() async throws {
        let root = KernelProcess.newRoot()
        let folder = root + "/home/crash"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for index in 0..<20 {
            let path = folder + "/crash-\(1_733_420_000_000 + index)-1.txt"
            try PluginFiles.write("agentos-crash 1\ntime_ms \(1_733_420_000_000 + index)\npid 1\nsignal SIGBUS\nsignal_number 7\nend\n", to: path)
            var times = [timespec(tv_sec: 1_733_420_000 + index, tv_nsec: 0), timespec(tv_sec: 1_733_420_000 + index, tv_nsec: 0)]
            utimensat(AT_FDCWD, path, &times, 0)
        }
        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        let files = try await kernel.client.crashes().crashes.map(\.file)
        #expect(files == (4..<20).map { "crash-\(1_733_420_000_000 + $0)-1.txt" })
        #expect(Self.records(kernel).count == 16)
    }
}
