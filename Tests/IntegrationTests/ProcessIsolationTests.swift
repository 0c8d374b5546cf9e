import ControlAPI
import Foundation
import Testing

/// `--isolation process`: the same `.so` in its own `agentos-host`, reached
/// over a socket pair. A host that crashes, exits or sends invalid frames
/// ends only itself: its caller gets `crashed` (AOS_ECRASHED) at once, the
/// kernel and other agents keep running, queued messages wait for the
/// restarted host, and restarts stop at the policy's intensity.
@Suite(.serialized) struct ProcessIsolationTests {
    private func loadIsolated(
        _ kernel: KernelProcess, _ plugin: String, as name: String? = nil, config: String? = nil,
        restart: String? = nil, intensity: Int? = nil, period: Double? = nil
    ) async throws -> InstanceInfo {
        try await kernel.client.load(LoadRequest(
            path: Paths.plugin(plugin), name: name, config: config, isolation: "process", restart: restart,
            restartIntensity: intensity, restartPeriod: period))
    }

    private func metricsText(_ kernel: KernelProcess) async throws -> String {
        let (status, body) = try await kernel.client.raw(.GET, "/metrics")
        #expect(status == 200)
        return String(decoding: body, as: UTF8.self)
    }

    private func hostIsGone(_ pid: Int) -> Bool { kill(pid_t(pid), 0) != 0 && errno == ESRCH }

    @Test func aProcessModeInstanceAnswersAndPsShowsItsHost() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "echo")
        #expect(try await kernel.ask("echo", "over the channel") == "over the channel")
        let row = try #require(try await kernel.listed("echo"))
        #expect(row.isolation == "process")
        let pid = try #require(row.host?.pid)
        #expect(pid != getpid() && !hostIsGone(pid))
        #expect(row.host?.restarts == 0)

        let ps = try await kernel.agentctlAsync("ps")
        #expect(ps.stdout.contains("process \(pid)"), "\(ps.stdout)")
        let json = try await kernel.agentctlAsync("ps", "-o", "json")
        #expect(json.stdout.contains("\"isolation\" : \"process\"") || json.stdout.contains("\"isolation\": \"process\""), "\(json.stdout)")

        // Unloading stops the host too.
        _ = try await kernel.client.unload("echo")
        #expect(try await kernel.eventually(5) { hostIsGone(pid) })
        try await kernel.expectHealthy()
    }

    @Test func agentctlLoadTakesIsolationAndRefusesAnUnknownOne() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let load = try await kernel.agentctlAsync("load", Paths.plugin("echo"), "--isolation", "process", "--restart", "transient")
        #expect(load.status == 0, "\(load.stderr)")
        #expect(try await kernel.listed("echo")?.isolation == "process")
        let bad = try await kernel.agentctlAsync("load", Paths.plugin("echo"), "--name", "e2", "--isolation", "vm")
        #expect(bad.status != 0 && bad.stderr.contains("unknown isolation \"vm\" (use thread or process)"), "\(bad.stderr)")
        let badRestart = try await kernel.agentctlAsync("load", Paths.plugin("echo"), "--name", "e3", "--isolation", "process", "--restart", "forever")
        #expect(badRestart.stderr.contains("unknown restart policy \"forever\""), "\(badRestart.stderr)")
        #expect(try await kernel.listed("e2") == nil)
        #expect(try await kernel.listed("e3") == nil)
        try await kernel.expectHealthy()
    }

    @Test func aSegfaultEndsOnlyTheHostTheCallerGetsCrashedAndTheQueuedMessageIsHandledAfterTheRestart() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo", as: "bystander")
        _ = try await loadIsolated(kernel, "crasher")
        let firstPid = try #require(try await kernel.listed("crasher")?.host?.pid)
        let go = kernel.scratch("go")

        // A request that crashes once `go` exists, and one queued behind it.
        async let crashing: String = expectAPIError("crashed", status: 502) {
            try await kernel.ask("crasher", "segv-after \(go)")
        }
        try #require(try await kernel.eventually { try await kernel.listed("crasher")?.messagesIn == 1 })
        async let queued = kernel.ask("crasher", "queued")
        try #require(try await kernel.eventually { try await kernel.listed("crasher")?.mailboxDepth == 1 })
        #expect(FileManager.default.createFile(atPath: go, contents: nil))

        let crashMessage = await crashing
        #expect(crashMessage.contains("crasher crashed while it handled the request"), "\(crashMessage)")
        #expect(try await queued == "queued", "the queued message waits for the restarted host")

        let row = try #require(try await kernel.listed("crasher"))
        #expect(row.state == "running")
        #expect(row.host?.restarts == 1 && row.host?.crashes == 1)
        #expect(row.host?.pid != firstPid && hostIsGone(firstPid))
        let crash = try #require(row.host?.lastCrash)
        #expect(crash.contains("SIGSEGV at address 0x0") && crash.contains("crasher_fault"), "\(crash)")
        #expect(row.lastError?.contains("crashed: SIGSEGV") == true, "\(row.lastError ?? "")")
        #expect(try await kernel.ask("crasher", "count") == "2", "a fresh host: init ran again")

        let metrics = try await metricsText(kernel)
        #expect(metrics.contains("agentos_instance_restarts_total{agent=\"crasher\",reason=\"signal\"} 1"), "\(metrics.split(separator: "\n").filter { $0.contains("restarts") })")
        let audit = try await kernel.agentctlAsync("audit", "-o", "json")
        #expect(audit.stdout.contains("\"crash\"") && audit.stdout.contains("crasher_fault"), "\(audit.stdout)")
        #expect(try await kernel.waitForLog("crasher", containing: "host restarted after a crash"))

        #expect(try await kernel.ask("bystander", "still here") == "still here")
        try await kernel.expectHealthy()
    }

    @Test func abortAndExitAreCrashesToo() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "crasher")
        await expectAPIError("crashed") { try await kernel.ask("crasher", "abort") }
        #expect(try await kernel.listed("crasher")?.host?.lastCrash?.contains("SIGABRT") == true)
        await expectAPIError("crashed") { try await kernel.ask("crasher", "exit") }
        #expect(try await kernel.listed("crasher")?.host?.lastCrash?.contains("exited with status 0") == true)
        #expect(try await kernel.ask("crasher", "back") == "back", "permanent: restarted after exit(0) too")
        #expect(try await metricsText(kernel).contains("agentos_instance_restarts_total{agent=\"crasher\",reason=\"exit\"} 1"))
        try await kernel.expectHealthy()
    }

    @Test func aHandlerSpinningPastItsDeadlineEndsItsHostAndTheRestartedOneAnswers() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "crasher")
        #expect(try kernel.agentctl("quota", "crasher", "handler_deadline_ms=300").status == 0)
        await expectAPIError("crashed") { try await kernel.ask("crasher", "spin", timeoutMs: 60_000) }
        let host = try #require(try await kernel.listed("crasher")?.host)
        #expect(host.lastCrash?.contains("did not answer in time") == true, "\(host.lastCrash ?? "")")
        #expect(try await kernel.ask("crasher", "back") == "back")
        #expect(try await metricsText(kernel).contains("agentos_instance_restarts_total{agent=\"crasher\",reason=\"no_answer\"} 1"))
        try await kernel.expectHealthy()
    }

    @Test func memoryAndCPUQuotasAreTheHostsRlimitsFromItsNextStart() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "crasher")
        #expect(try await kernel.ask("crasher", "alloc 1073741824") == "ok", "no limit yet")
        let set = try kernel.agentctl("quota", "crasher", "memory_bytes=268435456", "cpu_seconds=1")
        #expect(set.status == 0, "\(set.stderr)")
        // The limits apply from the next host: end this one.
        await expectAPIError("crashed") { try await kernel.ask("crasher", "exit") }
        #expect(try await kernel.ask("crasher", "alloc 1048576") == "ok")
        // agentctl quota shows the limits with the host's use of them.
        let quotas = try await kernel.client.quotas(of: "crasher").quotas
        let memory = try #require(quotas.first { $0.key == "memory_bytes" })
        #expect(memory.limit == 268_435_456 && (memory.use ?? 0) > 1 << 20 && (memory.use ?? 0) < 268_435_456, "\(memory)")
        #expect(quotas.first { $0.key == "cpu_seconds" }?.limit == 1)
        #expect(try await kernel.ask("crasher", "alloc 1073741824") == "enomem")
        // One second of CPU, then the OS ends the host with SIGXCPU: a crash like any other.
        await expectAPIError("crashed") { try await kernel.ask("crasher", "spin", timeoutMs: 120_000) }
        #expect(try await kernel.listed("crasher")?.host?.lastCrash?.contains("SIGXCPU") == true)
        #expect(try await kernel.ask("crasher", "back") == "back")
        // Thread mode has no host to limit: the quota is refused by name.
        try await kernel.load("echo")
        let thread = try kernel.agentctl("quota", "echo", "memory_bytes=1M")
        #expect(thread.status == 1)
        #expect(thread.stderr == "agentctl: memory_bytes is enforced by the OS on a process-mode instance's host, and echo runs in thread mode (load it with --isolation process)\n", "\(thread.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func aTransientInstanceThatExitsNormallyStopsAndATemporaryOneFailsOnItsFirstCrash() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "crasher", as: "transient", restart: "transient")
        await expectAPIError("crashed") { try await kernel.ask("transient", "exit") }
        #expect(try await kernel.eventually { try await kernel.listed("transient")?.state == "stopped" })
        #expect(try await kernel.listed("transient")?.lastError?.contains("transient instance is restarted only after a crash") == true)

        _ = try await loadIsolated(kernel, "crasher", as: "temporary", restart: "temporary")
        await expectAPIError("crashed") { try await kernel.ask("temporary", "segv") }
        #expect(try await kernel.eventually { try await kernel.listed("temporary")?.state == "failed" })
        #expect(try await kernel.listed("temporary")?.lastError?.contains("a temporary instance is never restarted") == true)
        try await kernel.expectHealthy()
    }

    @Test func aRestartStormBeyondTheIntensityLeavesTheInstanceFailedWithTheReason() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "crasher", intensity: 2, period: 60)
        for _ in 0..<3 {
            await expectAPIError("crashed") { try await kernel.ask("crasher", "segv") }
        }
        #expect(try await kernel.eventually { try await kernel.listed("crasher")?.state == "failed" })
        let row = try #require(try await kernel.listed("crasher"))
        #expect(row.host?.restarts == 2 && row.host?.crashes == 3)
        #expect(row.lastError?.contains("3 crashes within 60 s exceed its restart intensity of 2; not restarted") == true, "\(row.lastError ?? "")")
        await expectAPIError("not_found") { try await kernel.ask("crasher", "anyone?") }
        // The name is free again.
        _ = try await loadIsolated(kernel, "crasher")
        #expect(try await kernel.ask("crasher", "again") == "again")
        try await kernel.expectHealthy()
    }

    @Test func aHostThatSendsGarbageAnOversizeFrameAnUnaskedSaveOrAForgedReturnIsKilledAsCrashed() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await loadIsolated(kernel, "crasher", intensity: 10)  // six crashes in a row
        await expectAPIError("crashed") { try await kernel.ask("crasher", "garbage") }
        var crash = try await kernel.listed("crasher")?.host?.lastCrash ?? ""
        #expect(crash.contains("killed by SIGKILL (it sent an invalid unknown frame)"), "\(crash)")
        // Types the kernel's reader uses for its own answers are unknown on the wire too.
        for type in ["0", "4294967295"] {
            await expectAPIError("crashed") { try await kernel.ask("crasher", "garbage \(type)") }
            crash = try await kernel.listed("crasher")?.host?.lastCrash ?? ""
            #expect(crash.contains("killed by SIGKILL (it sent an invalid unknown frame)"), "type \(type): \(crash)")
        }
        await expectAPIError("crashed") { try await kernel.ask("crasher", "oversize") }
        crash = try await kernel.listed("crasher")?.host?.lastCrash ?? ""
        #expect(crash.contains("it sent an oversize frame of 1073741824 bytes"), "\(crash)")
        await expectAPIError("crashed") { try await kernel.ask("crasher", "forge-saved") }
        crash = try await kernel.listed("crasher")?.host?.lastCrash ?? ""
        #expect(crash.contains("killed by SIGKILL (it sent an invalid saved frame)"), "\(crash)")
        await expectAPIError("crashed") { try await kernel.ask("crasher", "forge-returns") }
        crash = try await kernel.listed("crasher")?.host?.lastCrash ?? ""
        #expect(crash.contains("killed by SIGKILL (its returns page counts returns of messages it was never sent)"), "\(crash)")
        // Counted once the next host runs, which may be just after the caller got its answer.
        #expect(try await kernel.eventually {
            try await metricsText(kernel).contains("agentos_instance_restarts_total{agent=\"crasher\",reason=\"invalid_frame\"} 6")
        })
        #expect(try await kernel.ask("crasher", "fine") == "fine")
        try await kernel.expectHealthy()
    }

    @Test func aHostThatWritesMegabytesToStdoutFillsItsLogToTheCapAndKeepsRunning() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let pid = try #require(try await loadIsolated(kernel, "crasher").host?.pid)
        let log = kernel.home.path + "/hosts/crasher.log"
        let cap = 16 << 20
        #expect(try await kernel.ask("crasher", "spew 24") == "wrote \(cap)")
        #expect(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int == cap)
        #expect(try await kernel.ask("crasher", "fine") == "fine")
        #expect(try await kernel.listed("crasher")?.host?.pid == pid, "the host kept running")
        // The next host (after a crash here) starts a fresh log; the full one is kept beside it.
        await expectAPIError("crashed") { try await kernel.ask("crasher", "segv") }
        #expect(try await kernel.ask("crasher", "spew 1") == "wrote \(1 << 20)")
        #expect(try FileManager.default.attributesOfItem(atPath: log + ".1")[.size] as? Int == cap)
        #expect(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int ?? 0 >= 1 << 20)
        try await kernel.expectHealthy()
    }

    @Test func aPluginThatFailsOrCrashesInsideItsHostIsRefusedAtLoad() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let failed = await expectAPIError("init_failed") { try await loadIsolated(kernel, "failinit") }
        #expect(failed.contains("init of failinit returned AOS_EPERM"), "\(failed)")
        let crashed = await expectAPIError("init_failed") { try await loadIsolated(kernel, "crasher", config: "segv") }
        #expect(crashed.contains("init of crasher returned AOS_ECRASHED"), "\(crashed)")
        #expect(try await kernel.listed("crasher")?.state == "failed")
        #expect(try await kernel.waitForLog("crasher", containing: "crasher_fault"))
        try await kernel.expectHealthy()
    }

    @Test func aMissingHostExecutableIsAClearErrorAndThreadModeStillWorks() async throws {
        let kernel = try await KernelProcess(environment: ["AGENTOS_HOST_PATH": "/nonexistent/agentos-host"])
        defer { kernel.stop() }
        let message = await expectAPIError("file_not_found") { try await loadIsolated(kernel, "echo") }
        #expect(message.contains("AGENTOS_HOST_PATH=/nonexistent/agentos-host is not an executable file"), "\(message)")
        #expect(kernel.privateCopies().isEmpty, "the refused load leaves no copy behind")
        try await kernel.expectHealthy()
    }

    @Test func policyAndTheDefaultIsolationChooseProcessMode() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/home", withIntermediateDirectories: true)
        try """
        plugins:
          isolated:
            isolation: process
            restart: {policy: transient, intensity: 1, period: 10}
        """.write(toFile: root + "/home/policy.yaml", atomically: true, encoding: .utf8)
        let kernel = try await KernelProcess(["--default-isolation", "process"], root: root)
        defer { kernel.stop() }
        try await kernel.load("echo", as: "isolated")
        #expect(try await kernel.listed("isolated")?.isolation == "process")
        try await kernel.load("echo", as: "threaded")
        #expect(try await kernel.listed("threaded")?.isolation == "thread", "agentctl loads default to thread mode")
        try FileManager.default.copyItem(atPath: Paths.plugin("echo"), toPath: kernel.pluginsDirectory + "/echo.so")
        #expect(try await kernel.eventually { try await kernel.listed("echo")?.isolation == "process" })
        try await kernel.expectHealthy()
    }

    @Test func aBadIsolationOrRestartInPolicyYamlNamesTheLineAndLoadsNothing() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let policy = kernel.home.path + "/policy.yaml"
        try "plugins:\n  echo:\n    restart: {policy: sometimes}\n".write(toFile: policy, atomically: true, encoding: .utf8)
        var message = await expectAPIError("bad_policy") { try await kernel.load("echo") }
        #expect(message.contains("policy.yaml:3: plugins.echo.restart: unknown restart policy \"sometimes\""), "\(message)")
        try "plugins:\n  echo:\n    isolation: vm\n".write(toFile: policy, atomically: true, encoding: .utf8)
        message = await expectAPIError("bad_policy") { try await kernel.load("echo") }
        #expect(message.contains("policy.yaml:3: plugins.echo.isolation: unknown isolation \"vm\""), "\(message)")
        try "plugins:\n  echo:\n    restart: {intensity: 99}\n".write(toFile: policy, atomically: true, encoding: .utf8)
        message = await expectAPIError("bad_policy") { try await kernel.load("echo") }
        #expect(message.contains("restart intensity 99 is out of range"), "\(message)")
        #expect(try await kernel.listed("echo") == nil)
        try FileManager.default.removeItem(atPath: policy)
        try await kernel.expectHealthy()
    }
}

/// Agents on both sides of the channel: a process-mode agent calls out through
/// it, and a thread-mode agent calling a process-mode one that crashes gets
/// AOS_ECRASHED and goes on working.
@Suite(.serialized) struct ProcessIsolationCallerTests {
    @Test func aProcessModeRelayCallsAThreadModeEchoThroughTheChannel() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("relay"), grants: ["send:echo"], isolation: "process"))
        let reply = try await kernel.ask("relay", "echo hello")
        #expect(reply.hasPrefix("echo replied in ") && reply.hasSuffix(": hello"), "\(reply)")
        // Its capabilities are checked in the kernel, as in thread mode.
        await expectAPIError("handler_failed") { try await kernel.ask("relay", "crasher hi") }
        #expect(try await kernel.waitForLog("relay", containing: "AOS_EPERM"))
    }

    @Test func aThreadModeCallerOfACrashingProcessModeAgentGetsECRASHEDAndKeepsWorking() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("crasher"), isolation: "process"))
        try await kernel.load("relay", grants: ["send:crasher", "send:echo"])
        await expectAPIError("handler_failed") { try await kernel.ask("relay", "crasher segv") }
        #expect(try await kernel.waitForLog("relay", containing: "AOS_ECRASHED"))
        let reply = try await kernel.ask("relay", "crasher after")
        #expect(reply.hasSuffix(": after"), "the restarted crasher answers: \(reply)")
        #expect(try await kernel.ask("relay", "echo fine").hasSuffix(": fine"))
    }
}

/// Inference from a process-mode agent, with the real model: the support
/// example (infer_submit, its result as an AOS_MSG_INFERENCE message, tool
/// calls through the kernel's tool loop) runs unmodified in its host.
@Suite(.serialized) struct ProcessIsolationInferenceTests {
    @Test func theSupportExampleAnswersFromItsHost() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        try await kernel.load("catalog")
        _ = try await kernel.client.load(LoadRequest(
            path: Paths.plugin("support"), grants: ["infer", "tool:catalog.*"], isolation: "process"))
        let answer = try await kernel.client.send(
            "support", SendRequest(text: "How much does the A-200 cost?", wait: true, timeoutMs: 120_000))
        let reply = answer.reply ?? ""
        #expect(!reply.isEmpty && !reply.hasPrefix("error:"), "support did not answer: \(reply)")
        let row = try #require(try await kernel.listed("support"))
        #expect(row.isolation == "process" && row.host?.crashes == 0)
        #expect((row.inference?.requests ?? 0) >= 1, "the kernel scheduled its inference as for any agent")
    }
}
