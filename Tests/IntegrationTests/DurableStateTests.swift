import ControlAPI
import ControlClient
import Foundation
import Testing

/// Durable kernel state: instances loaded through agentctl are kept in
/// `$AGENTOS_HOME/state.sqlite` and loaded again by the next kernel, with the
/// same settings, only from a file with the recorded SHA-256. Real `agentosd`
/// processes on one home, real plugins, real `kill -9`.
@Suite(.serialized) struct DurableStateTests {
    /// Kills `kernel` with SIGKILL (no shutdown at all) and starts another on its home.
    private static func killAndRestart(_ kernel: KernelProcess, _ arguments: [String] = []) async throws -> KernelProcess {
        kernel.signal(SIGKILL)
        _ = await kernel.waitForExit()
        return try await restarted(on: kernel, arguments)
    }

    /// A new kernel on `kernel`'s home (which has exited), once its restore is over.
    private static func restarted(on kernel: KernelProcess, _ arguments: [String] = []) async throws -> KernelProcess {
        let next = try await KernelProcess(arguments, root: kernel.root)
        _ = try await next.eventually(60) { try await next.client.status().restore?.state != "restoring" }
        return next
    }

    /// SIGTERM and wait: a graceful stop, which must leave the records alone.
    private static func gracefulStop(_ kernel: KernelProcess) async {
        kernel.signal(SIGTERM)
        #expect(await kernel.waitForExit() == 0)
    }

    /// What must come back the same: isolation, restart policy, grants, quotas with a limit.
    private struct Settings: Equatable {
        var isolation: String
        var granted: [String]
        var quotas: [String: Int]
    }

    private static func settings(_ kernel: KernelProcess, _ name: String) async throws -> Settings {
        let info = try await kernel.client.instance(name)
        let caps = try await kernel.client.capabilities(of: name)
        let quotas = try await kernel.client.quotas(of: name)
        var limits: [String: Int] = [:]
        for quota in quotas.quotas { if let limit = quota.limit { limits[quota.key] = limit } }
        return Settings(isolation: info.isolation ?? "thread", granted: caps.granted.sorted(), quotas: limits)
    }

    private static func expectOK(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func tenInstancesComeBackAfterKill9WithTheSameSettings() async throws {
        let first = try await KernelProcess()
        // Through agentctl, the way users load.
        Self.expectOK(try first.agentctl("load", Paths.plugin("counter"), "--name", "counter-a", "--config", "start=100"))
        Self.expectOK(try first.agentctl(
            "load", Paths.plugin("counter"), "--name", "counter-p", "--config", "start=7", "--isolation", "process",
            "--restart", "transient", "--restart-intensity", "5", "--restart-period", "10"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("echo"), "--name", "echo-a", "--priority", "3"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("echo"), "--name", "echo-p", "--isolation", "process", "--grant", "kv"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("echo"), "--name", "echo-q"))
        Self.expectOK(try first.agentctl("quota", "echo-q", "mailbox_depth=64", "message_bytes=4k"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("capsprobe"), "--name", "probe-a", "--grant", "send:echo-a"))
        Self.expectOK(try first.agentctl(
            "load", Paths.plugin("capsprobe"), "--name", "probe-p", "--isolation", "process", "--grant", "send:echo-a,send:echo-q"))
        Self.expectOK(try first.agentctl("revoke", "probe-p", "send:echo-q"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("kvprobe"), "--name", "kv-a", "--grant", "kv"))
        Self.expectOK(try first.agentctl("quota", "kv-a", "kv_keys=10", "tokens_per_minute=20k"))
        Self.expectOK(try first.agentctl("load", Paths.plugin("kvprobe"), "--name", "kv-b"))
        Self.expectOK(try first.agentctl("grant", "kv-b", "kv"))
        let names = ["counter-a", "counter-p", "echo-a", "echo-p", "echo-q", "probe-a", "probe-p", "kv-a", "kv-b"]
        // The tenth comes from a file copied to the test's folder, with a name of its own.
        let copied = first.scratch("echo-copy.so")
        try FileManager.default.copyItem(atPath: Paths.plugin("echo"), toPath: copied)
        Self.expectOK(try first.agentctl("load", copied, "--name", "echo-copy", "--grant", "send:echo-a"))
        let all = names + ["echo-copy"]
        var before: [String: Settings] = [:]
        for name in all { before[name] = try await Self.settings(first, name) }
        #expect(try await first.ask("counter-a", "x") == "101")

        let second = try await Self.killAndRestart(first)
        defer { second.stop() }
        let status = try await second.client.status()
        #expect(status.restore?.state == "done")
        #expect(status.restore?.restored == all, "\(second.log())")
        #expect(status.restore?.notRestored == [])
        for name in all {
            #expect(try await Self.settings(second, name) == before[name], "\(name)")
            #expect(try await second.listed(name)?.state == "running", "\(name)")
        }
        // The config is the recorded one: a fresh counter starting at 100 and at 7.
        #expect(try await second.ask("counter-a", "x") == "101")
        #expect(try await second.ask("counter-p", "x") == "8")
        #expect(try await second.listed("counter-p")?.host?.pid != nil)
        // The grants work, and the revoked one stays revoked.
        #expect(try await second.ask("probe-p", "send echo-a") == "AOS_OK")
        #expect(try await second.ask("probe-p", "send echo-q") == "AOS_EPERM")
        #expect(try await second.ask("echo-p", "hello") == "hello")
        let statusText = try second.agentctl("status")
        #expect(statusText.stdout.contains("10 instances"), "\(statusText.stdout)")
        // Restored instances are audited as granted from the record.
        let audit = try await second.client.audit(agent: "kv-b")
        #expect(audit.contains { $0.capability == "kv" && $0.reason.contains("state.sqlite") })
    }

    @Test func aStopRestoresAnUnloadForgetsAndNoRestoreStartsEmpty() async throws {
        let first = try await KernelProcess()
        _ = try await first.load("echo", as: "kept")
        _ = try await first.load("echo", as: "dropped")
        // A Plugins/ instance is the folder's, never recorded.
        try FileManager.default.copyItem(atPath: Paths.plugin("counter"), toPath: first.pluginsDirectory + "/counter.so")
        #expect(try await first.eventually { try await first.listed("counter")?.state == "running" })
        Self.expectOK(try first.agentctl("unload", "dropped"))
        await Self.gracefulStop(first)

        let second = try await Self.restarted(on: first)
        #expect(try await second.client.status().restore?.restored == ["kept"])
        #expect(try await second.eventually { try await second.listed("counter")?.state == "running" })
        #expect(try await second.client.instances().map(\.name).sorted() == ["counter", "kept"])
        #expect(try await second.listed("dropped") == nil)
        await Self.gracefulStop(second)

        let empty = try await Self.restarted(on: second, ["--no-restore"])
        #expect(try await empty.client.status().restore?.state == "skipped")
        #expect(try await empty.eventually { try await empty.listed("counter")?.state == "running" })
        #expect(try await empty.listed("kept") == nil)
        #expect(try empty.agentctl("status").stdout.contains("none (--no-restore)"))
        // --no-restore forgot the records: the next start restores what this kernel loaded.
        _ = try await empty.load("echo", as: "later")
        let last = try await Self.killAndRestart(empty)
        defer { last.stop() }
        #expect(try await last.client.status().restore?.restored == ["later"])
        #expect(try await last.listed("kept") == nil)
    }

    @Test func aChangedOrMissingFileIsReportedAndNotLoaded() async throws {
        let first = try await KernelProcess()
        let same = first.scratch("same.so"), changed = first.scratch("changed.so"), missing = first.scratch("missing.so")
        for path in [same, changed, missing] { try FileManager.default.copyItem(atPath: Paths.plugin("echo"), toPath: path) }
        for (path, name) in [(same, "same"), (changed, "changed"), (missing, "missing")] {
            Self.expectOK(try first.agentctl("load", path, "--name", name))
        }
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        // Another valid plugin under the same path: loadable, but not what was recorded.
        try FileManager.default.removeItem(atPath: changed)
        try FileManager.default.copyItem(atPath: Paths.plugin("counter"), toPath: changed)
        try FileManager.default.removeItem(atPath: missing)

        let second = try await Self.restarted(on: first)
        let restore = try #require(try await second.client.status().restore)
        #expect(restore.restored == ["same"])
        #expect(restore.notRestored.map(\.name) == ["changed", "missing"])
        let reasons = Dictionary(uniqueKeysWithValues: restore.notRestored.map { ($0.name, $0.reason) })
        #expect(reasons["changed"]?.contains("\(changed) changed since changed was loaded (SHA-256") == true, "\(reasons)")
        #expect(reasons["missing"]?.contains("cannot load \(missing)") == true, "\(reasons)")
        // Nothing guessed: neither runs; ps -a lists both as failed with the reason; the log says it.
        #expect(try await second.client.instances().map(\.name) == ["same"])
        let failed = try #require(try await second.listed("changed"))
        #expect(failed.state == "failed")
        #expect(failed.lastError?.contains("not restored") == true)
        #expect(try await second.listed("missing")?.state == "failed")
        #expect(second.log().contains("not restored"))
        let statusText = try second.agentctl("status").stdout
        #expect(statusText.contains("not restored: changed ("), "\(statusText)")
        #expect(try await second.ask("same", "fine") == "fine")

        // The records stay: the file back → restored; `agentctl unload` of one not restored forgets it.
        try FileManager.default.copyItem(atPath: Paths.plugin("echo"), toPath: missing)
        let forget = try second.agentctl("unload", "changed")
        Self.expectOK(forget)
        #expect(forget.stdout.contains("forgotten"), "\(forget.stdout)")
        let third = try await Self.killAndRestart(second)
        defer { third.stop() }
        let again = try #require(try await third.client.status().restore)
        #expect(again.restored == ["same", "missing"])
        #expect(again.notRestored == [])
        #expect(try await third.listed("changed") == nil)
        // Loading the name again replaces a record; an unknown name is still an error.
        await expectAPIError("not_found", status: 404) { try await third.client.unload("never-loaded") }
    }

    @Test func aCorruptStateDatabaseRestoresNothingAndTheKernelStillRuns() async throws {
        let first = try await KernelProcess()
        _ = try await first.load("echo", as: "before")
        await Self.gracefulStop(first)
        let database = first.home.stateDatabasePath
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: database))

        let second = try await Self.restarted(on: first)
        defer { second.stop() }
        let restore = try #require(try await second.client.status().restore)
        #expect(restore.state == "unavailable")
        #expect(restore.reason?.contains("state database \(database) is") == true, "\(restore)")
        #expect(second.log().contains("instance restore disabled"), "\(second.log())")
        #expect(try await second.client.instances().isEmpty)
        #expect(try second.agentctl("status").stdout.contains("none: state database"))
        // Loading still works; it is simply not kept.
        try await second.expectHealthy()
        _ = try await second.load("echo", as: "after")
        #expect(try await second.ask("after", "ok") == "ok")
    }

    @Test func aStateDatabaseThatIsAFolderRestoresNothingAndTheKernelStillRuns() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/home/state.sqlite", withIntermediateDirectories: true)
        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        _ = try await kernel.eventually { try await kernel.client.status().restore?.state != "restoring" }
        let restore = try #require(try await kernel.client.status().restore)
        #expect(restore.state == "unavailable")
        try await kernel.expectHealthy()
    }
}
