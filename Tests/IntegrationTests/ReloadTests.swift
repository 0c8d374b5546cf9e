import ControlAPI
import Foundation
import Synchronization
import Testing

/// Hot reload (`agentctl reload`, a replaced file in `Plugins/`): the new
/// version starts with the old one's settings and takes over its queue, every
/// message is answered exactly once and in order per sender, and a new
/// version that cannot run leaves the old one answering. The `versioned`
/// fixture answers "vN #K BODY": its build and how many messages that
/// instance handled.
@Suite(.serialized) struct ReloadTests {
    /// One answer of `versioned`.
    private struct Answer: Equatable {
        var version: Int
        var count: Int
        var body: String

        /// Parses "vN #K BODY".
        init?(_ text: String) {
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].hasPrefix("v"), parts[1].hasPrefix("#"),
                  let version = Int(parts[0].dropFirst()), let count = Int(parts[1].dropFirst()) else { return nil }
            self.version = version
            self.count = count
            body = String(parts[2])
        }
    }

    @Test func reloadUnderASteadyStreamOfCallsAnswersEveryCallExactlyOnceInOrder() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let old = try await kernel.load("versioned_v1", as: "versioned")
        let senders = 4, calls = 40
        for sender in 0..<senders { try await kernel.load("caller", as: "caller\(sender)", grants: ["send:versioned"]) }

        // Each caller makes one call at a time to versioned, for every request the test sends it.
        let client = kernel.client
        let progress = ReplyCounter()
        let streams = (0..<senders).map { sender in
            Task {
                var answers: [String] = []
                for call in 1...calls {
                    let text = "versioned 60000 c\(sender)-\(call)"
                    let reply = try await client.send("caller\(sender)", SendRequest(text: text, wait: true, timeoutMs: 90_000)).reply ?? ""
                    answers.append(reply)
                    progress.add()
                }
                return answers
            }
        }
        // Reload mid-stream, while a request is in hand (its caller must get v1's reply) and calls queue behind it.
        #expect(try await kernel.eventually(60) { progress.value >= senders * 5 })
        let inHand = Task { try await client.send("versioned", SendRequest(text: "sleep 2000", wait: true, timeoutMs: 60_000)).reply ?? "" }
        try #require(try await kernel.waitForLog("versioned", containing: "v1: sleeping 2000 ms", seconds: 30))
        #expect(try await kernel.eventually(10) { try await kernel.client.instance("versioned").mailboxDepth > 0 })
        let reload = try await kernel.agentctlAsync("reload", "versioned", Paths.plugin("versioned_v2"), "--timeout", "30", "-o", "json")
        #expect(reload.status == 0, "\(reload.stderr)")
        let info = try ControlJSON.decoder().decode(InstanceInfo.self, from: Data(reload.stdout.utf8))
        #expect(info.name == "versioned")
        #expect(info.id != old.id)
        #expect(info.version == "2")
        #expect(info.plugin == Paths.plugin("versioned_v2"))

        let held = try #require(Answer(try await inHand.value))
        #expect(held.version == 1, "the handler in hand at the reload finished on v1")
        #expect(held.body == "sleep 2000")
        var counts: [Int: [Int]] = [1: [held.count]]
        for (sender, stream) in streams.enumerated() {
            let answers = try await stream.value
            #expect(answers.count == calls)
            var last = (version: 0, count: 0)
            for (index, text) in answers.enumerated() {
                let answer = try #require(text.hasPrefix("AOS_OK ") ? Answer(String(text.dropFirst(7))) : nil, "\(text)")
                #expect(answer.body == "c\(sender)-\(index + 1)", "each call got its own answer")
                #expect((answer.version, answer.count) > (last.version, last.count), "caller\(sender): \(text) after v\(last.version) #\(last.count)")
                last = (answer.version, answer.count)
                counts[answer.version, default: []].append(answer.count)
            }
        }
        // Each instance numbers the messages it handled: no number twice (handled twice), none missing (a lost reply).
        for (version, seen) in counts {
            #expect(seen.sorted() == Array(1...seen.count), "v\(version) answered \(seen.sorted())")
        }
        #expect((counts[1]?.count ?? 0) > senders, "v1 answered the first part of the stream")
        #expect((counts[2]?.count ?? 0) >= senders, "v2 answered the queued calls and the rest")
        #expect(counts.values.map(\.count).reduce(0, +) == senders * calls + 1)

        #expect(try await kernel.client.instances().filter { $0.name == "versioned" }.map(\.id) == [info.id])
        let replaced = try await kernel.client.instances(all: true).first { $0.id == old.id }
        #expect(replaced?.state == "stopped", "the old instance stopped and its library was closed")
        #expect(try await kernel.waitForLog("versioned", containing: "replacing instance \(old.id)"))
        try await kernel.expectHealthy()
    }

    @Test func reloadToAFileThatCannotRunLeavesTheOldOneAnswering() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let old = try await kernel.load("versioned_v1", as: "versioned")
        let text = kernel.scratch("text.so")
        try PluginFiles.write("not a plugin\n", to: text)
        let cases: [(path: String, reason: String)] = [
            (text, "cannot load \(text): not an ELF file"),
            (Paths.plugin("abinew"), "ABI major 2, kernel speaks 1"),
            (Paths.plugin("versioned_failinit"), "init of versioned returned AOS_EPERM"),
            (kernel.scratch("missing.so"), "missing.so"),
        ]
        for (index, (path, reason)) in cases.enumerated() {
            let reload = try await kernel.agentctlAsync("reload", "versioned", path)
            #expect(reload.status == 1, "\(reload.stdout)")
            #expect(reload.stdout.isEmpty)
            #expect(reload.stderr.hasPrefix("agentctl: "), "\(reload.stderr)")
            #expect(reload.stderr.contains(reason), "\(reload.stderr)")
            #expect(reload.stderr.hasSuffix("; versioned keeps running its current version\n"), "\(reload.stderr)")
            #expect(try await kernel.ask("versioned", "still v1") == "v1 #\(index + 1) still v1")
        }
        #expect(try await kernel.client.instance("versioned").id == old.id)
        #expect(try await kernel.waitForLog("versioned", containing: "reload from \(Paths.plugin("abinew")) failed"))
        try await kernel.expectHealthy()
    }

    @Test func aReloadWhoseInitNeverReturnsIsAbandonedAndListedAsHung() async throws {
        let kernel = try await KernelProcess(["--init-timeout", "0.3"])
        defer { kernel.stop() }
        let old = try await kernel.load("versioned_v1", as: "versioned")
        let path = Paths.plugin("versioned_blockinit")
        let message = await expectAPIError("hung", status: 504) { try await kernel.client.reload("versioned", path: path) }
        #expect(message == "cannot reload versioned from \(path): init of the new version did not return within 0.3 s; it is abandoned (listed as hung in `agentctl ps -a`), and closed if it ever returns; versioned keeps running its current version")
        #expect(try await kernel.ask("versioned", "still v1") == "v1 #1 still v1")
        let live = try await kernel.client.instances().filter { $0.name == "versioned" }
        #expect(live.map(\.id) == [old.id])
        let all = try await kernel.client.instances(all: true).filter { $0.name == "versioned" }
        #expect(all.count == 2, "\(all)")
        let abandoned = try #require(all.first { $0.id != old.id })
        #expect(abandoned.state == "hung")
        #expect(abandoned.lastError == "the new version of a reload: init did not return within 0.3 s; abandoned, closed if it returns")
        #expect(try await kernel.client.instance("versioned").id == old.id)
        try await kernel.expectHealthy()
    }

    @Test func reloadOfAnUnknownNameIsNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let reload = try await kernel.agentctlAsync("reload", "ghost", Paths.plugin("versioned_v2"))
        #expect(reload.status == 1)
        #expect(reload.stdout.isEmpty)
        #expect(reload.stderr == "agentctl: no instance named ghost (see `agentctl ps -a`)\n")
        let message = await expectAPIError("not_found", status: 404) { try await kernel.client.reload("ghost") }
        #expect(message == "no instance named ghost (see `agentctl ps -a`)")
        try await kernel.expectHealthy()
    }

    @Test func reloadKeepsTheSettingsOfAProcessModeInstance() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let old = try await kernel.client.load(LoadRequest(
            path: Paths.plugin("versioned_v1"), config: "c", priority: 2, grants: ["kv"], isolation: "process", restart: "transient"))
        #expect(try await kernel.ask("versioned", "a") == "v1 #1 a")
        _ = try await kernel.agentctlAsync("quota", "versioned", "mailbox_depth=64")

        let new = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_v2"), timeout: 30)
        #expect(new.id != old.id)
        #expect(new.isolation == "process")
        #expect(new.version == "2")
        #expect(new.mailboxLimit == 64, "quotas carry over")
        #expect(try await kernel.client.capabilities(of: "versioned").granted.contains("kv"))
        #expect(try await kernel.ask("versioned", "b") == "v2 #1 b")

        // Without a path the instance's own file is read again: a fresh instance of the same version.
        let again = try await kernel.client.reload("versioned", timeout: 30)
        #expect(again.id != new.id)
        #expect(again.plugin == Paths.plugin("versioned_v2"))
        #expect(try await kernel.ask("versioned", "c") == "v2 #1 c")
        #expect(try await kernel.client.instances(all: true).filter { $0.name == "versioned" }.map(\.state) == ["stopped", "stopped", "running"])
        try await kernel.expectHealthy()
    }

    @Test func replacedFileInPluginsIsReloadedWithItsQueue() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.pluginsDirectory + "/versioned.so"
        try PluginFiles.write(try PluginFiles.bytes(of: "versioned_v1"), to: path)
        #expect(try await kernel.eventually { try await kernel.listed("versioned")?.state == "running" })
        let old = try await kernel.client.instance("versioned")

        let client = kernel.client
        let inHand = Task { try await client.send("versioned", SendRequest(text: "sleep 2000", wait: true, timeoutMs: 60_000)).reply ?? "" }
        try #require(try await kernel.waitForLog("versioned", containing: "v1: sleeping 2000 ms", seconds: 30))
        let queued = (1...3).map { index in
            Task { try await client.send("versioned", SendRequest(text: "q\(index)", wait: true, timeoutMs: 60_000)).reply ?? "" }
        }
        #expect(try await kernel.eventually(10) { try await kernel.client.instance("versioned").mailboxDepth == 3 })
        try PluginFiles.write(try PluginFiles.bytes(of: "versioned_v2"), to: path)

        #expect(try await inHand.value == "v1 #1 sleep 2000")
        var counts: [Int] = []
        for (index, task) in queued.enumerated() {
            let answer = try #require(Answer(try await task.value))
            #expect(answer.version == 2)
            #expect(answer.body == "q\(index + 1)")
            counts.append(answer.count)
        }
        #expect(counts.sorted() == [1, 2, 3])
        #expect(try await kernel.eventually(30) { try await kernel.client.instances(all: true).first { $0.id == old.id }?.state == "stopped" })
        let new = try await kernel.client.instance("versioned")
        #expect(new.id != old.id)
        #expect(new.origin == "plugins_dir")
        #expect(new.plugin == path)
        #expect(new.version == "2")

        // A replacement that is not a plugin is listed as failed; the running version stays.
        try PluginFiles.write("not a plugin\n", to: path)
        #expect(try await kernel.eventually(30) { try await kernel.client.instances(all: true).contains { $0.id == 0 && $0.name == "versioned" } })
        #expect(try await kernel.client.instance("versioned").id == new.id)
        #expect(try await kernel.ask("versioned", "still") == "v2 #4 still")
        try await kernel.expectHealthy()
    }

    /// Loads `plugin` as "versioned" with `isolation` (thread or process); a reload keeps it.
    @discardableResult
    private func loadVersioned(_ kernel: KernelProcess, _ plugin: String, isolation: String, config: String? = nil) async throws -> InstanceInfo {
        try await kernel.client.load(LoadRequest(path: Paths.plugin(plugin), name: "versioned", config: config, isolation: isolation))
    }

    /// ABI 1.12: the old version's `save` hands its count to the new version's
    /// `restore`; with either missing, the new version starts fresh. In process
    /// mode both run in the hosts.
    @Test(arguments: ["thread", "process"])
    func stateSavedByTheOldVersionIsRestoredByTheNewOne(_ isolation: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadVersioned(kernel, "versioned_s1", isolation: isolation)
        for index in 1...3 { #expect(try await kernel.ask("versioned", "a") == "v1 #\(index) a") }

        let new = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_s2"), timeout: 30)
        #expect(new.isolation == isolation)
        #expect(try await kernel.ask("versioned", "b") == "v2 #4 b", "the count went on")
        #expect(try await kernel.waitForLog("versioned", containing: "restored 1 bytes of state from the version it replaced"))

        _ = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_v1"), timeout: 30)
        #expect(try await kernel.ask("versioned", "c") == "v1 #1 c", "no restore: fresh")
        _ = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_s2"), timeout: 30)
        #expect(try await kernel.ask("versioned", "d") == "v2 #1 d", "no save in the old version: fresh")
        try await kernel.expectHealthy()
    }

    /// Messages queued at the handover wait for `restore`, then see the handed-over state.
    @Test(arguments: ["thread", "process"])
    func queuedMessagesAreHandledAfterTheRestore(_ isolation: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadVersioned(kernel, "versioned_s1", isolation: isolation)
        let client = kernel.client
        let inHand = Task { try await client.send("versioned", SendRequest(text: "sleep 1500", wait: true, timeoutMs: 60_000)).reply ?? "" }
        try #require(try await kernel.waitForLog("versioned", containing: "v1: sleeping 1500 ms", seconds: 30))
        let queued = Task { try await client.send("versioned", SendRequest(text: "q", wait: true, timeoutMs: 60_000)).reply ?? "" }
        #expect(try await kernel.eventually(10) { try await kernel.client.instance("versioned").mailboxDepth == 1 })
        _ = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_s2"), timeout: 30)
        #expect(try await inHand.value == "v1 #1 sleep 1500")
        #expect(try await queued.value == "v2 #2 q")
        try await kernel.expectHealthy()
    }

    /// Process mode: a host that dies in `save` is recorded on the old
    /// instance, and the new version starts with what its init made.
    @Test func aSaveThatCrashesItsHostLeavesTheNewVersionRunningFresh() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let old = try await loadVersioned(kernel, "versioned_s1", isolation: "process", config: "segv-in-save")
        for index in 1...3 { #expect(try await kernel.ask("versioned", "a") == "v1 #\(index) a") }

        let new = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_s2"), timeout: 30)
        #expect(try await kernel.ask("versioned", "b") == "v2 #1 b", "nothing was handed over: fresh")
        let replaced = try #require(try await kernel.client.instances(all: true).first { $0.id == old.id })
        #expect(replaced.state == "stopped")
        #expect(replaced.host?.crashes == 1)
        #expect(replaced.host?.lastCrash?.contains("SIGSEGV") == true && replaced.host?.lastCrash?.contains("versioned_fault") == true,
                "\(replaced.host?.lastCrash ?? "")")
        let row = try #require(try await kernel.listed("versioned"))
        #expect(row.id == new.id && row.state == "running")
        #expect(row.host?.crashes == 0 && row.host?.restarts == 0, "the new host never crashed")
        let logs = try await kernel.agentctlAsync("logs", "versioned")
        #expect(logs.stdout.contains("replacing instance \(old.id)") && !logs.stdout.contains("restored"), "\(logs.stdout)")
        try await kernel.expectHealthy()
    }

    /// Process mode: a host that dies in `restore` is a crash of the new
    /// instance: its policy restarts the host, which runs on with what its
    /// init made, and the messages queued at the handover are all answered.
    @Test func aRestoreThatCrashesItsHostIsACrashOfTheNewInstanceAndTheQueueIsAnswered() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await loadVersioned(kernel, "versioned_s1", isolation: "process", config: "segv-in-restore")
        let client = kernel.client
        let inHand = Task { try await client.send("versioned", SendRequest(text: "sleep 1500", wait: true, timeoutMs: 60_000)).reply ?? "" }
        try #require(try await kernel.waitForLog("versioned", containing: "v1: sleeping 1500 ms", seconds: 30))
        let queued = (1...2).map { index in
            Task { try await client.send("versioned", SendRequest(text: "q\(index)", wait: true, timeoutMs: 60_000)).reply ?? "" }
        }
        #expect(try await kernel.eventually(10) { try await kernel.client.instance("versioned").mailboxDepth == 2 })
        let new = try await kernel.client.reload("versioned", path: Paths.plugin("versioned_s2"), timeout: 30)
        #expect(try await inHand.value == "v1 #1 sleep 1500")
        var counts: [Int] = []
        for (index, task) in queued.enumerated() {
            let answer = try #require(Answer(try await task.value))
            #expect(answer.version == 2 && answer.body == "q\(index + 1)")
            counts.append(answer.count)
        }
        #expect(counts.sorted() == [1, 2], "the restarted host counts from what its init made")

        let row = try #require(try await kernel.listed("versioned"))
        #expect(row.id == new.id && row.state == "running")
        #expect(row.host?.crashes == 1 && row.host?.restarts == 1, "\(String(describing: row.host))")
        let crash = try #require(row.host?.lastCrash)
        #expect(crash.contains("SIGSEGV") && crash.contains("versioned_fault"), "\(crash)")
        #expect(row.lastError?.contains("crashed: SIGSEGV") == true, "\(row.lastError ?? "")")
        #expect(try await kernel.waitForLog("versioned", containing: "the host crashed in restore of 1 bytes of state"))
        #expect(try await kernel.waitForLog("versioned", containing: "host restarted after a crash"))
        let audit = try await kernel.agentctlAsync("audit", "-o", "json")
        #expect(audit.stdout.contains("\"restore\"") && audit.stdout.contains("versioned_fault"), "\(audit.stdout)")
        try await kernel.expectHealthy()
    }

    @Test func reloadRegistersTheToolsOfTheNewDescriptor() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("calculator")
        let before = try await kernel.client.tools(matching: "calculator.*").map(\.name).sorted()
        #expect(before.contains("calculator.multiply"))

        _ = try await kernel.client.reload("calculator")
        #expect(try await kernel.client.tools(matching: "calculator.*").map(\.name).sorted() == before)
        #expect(try await kernel.client.callTool("calculator.multiply", arguments: #"{"a": 12.5, "b": 4}"#).result == "50")

        // Another tool plugin under the same name: its tools replace the old ones.
        _ = try await kernel.client.reload("calculator", path: Paths.plugin("clock"))
        #expect(try await kernel.client.tools(matching: "calculator.*").map(\.name) == ["calculator.now"])
        await expectAPIError("tool_not_found") { try await kernel.client.callTool("calculator.multiply", arguments: "{}") }
        #expect(try await kernel.client.callTool("calculator.now", arguments: nil).result.contains("T"))
        try await kernel.expectHealthy()
    }

    @Test func reloadedInstanceIsRestoredFromItsNewFileAfterARestart() async throws {
        let first = try await KernelProcess()
        let v2 = first.scratch("versioned-v2.so")
        try FileManager.default.copyItem(atPath: Paths.plugin("versioned_v2"), toPath: v2)
        #expect(try first.agentctl("load", Paths.plugin("versioned_v1"), "--name", "versioned", "--grant", "kv").status == 0)
        #expect(try first.agentctl("reload", "versioned", v2).status == 0)
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)

        let second = try await KernelProcess(root: first.root)
        defer { second.stop() }
        _ = try await second.eventually(60) { try await second.client.status().restore?.state != "restoring" }
        let restored = try await second.client.instance("versioned")
        #expect(restored.plugin == v2)
        #expect(try await second.client.capabilities(of: "versioned").granted.contains("kv"))
        #expect(try await second.ask("versioned", "back") == "v2 #1 back")
    }
}

/// Counts replies from several tasks.
private final class ReplyCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}
