import ControlAPI
import ControlClient
import Foundation
import Testing

/// Kernels in a cluster over a real `nats-server` (started by each test on a
/// free loopback port), each kernel with a home of its own.
@Suite(.serialized) struct ClusterTests {
    /// A kernel joined to `nats` as `node`.
    private func node(_ nats: NATSServer, _ node: String, _ extra: [String] = []) async throws -> KernelProcess {
        try await KernelProcess(["--cluster", nats.url, "--node", node] + extra)
    }

    /// Waits until `kernel` sees `agent` running on `node` (announcements come every second).
    private func waitForAgent(_ agent: String, on node: String, seenBy kernel: KernelProcess) async throws {
        let seen = try await kernel.eventually(10) {
            try await kernel.client.cluster().nodes.contains { $0.name == node && $0.agents.contains(agent) }
        }
        let cluster = try await kernel.client.cluster()
        #expect(seen, "\(agent)@\(node) never showed up: \(cluster)")
    }

    @Test func crossNodeSendCallAndReplyKeepLocalSemantics() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await b.load("echo")
        try await b.load("pinger")
        try await a.load("relay", grants: ["send:echo@b"])
        try await a.load("sender", grants: ["send:*@b"])
        try await waitForAgent("echo", on: "b", seenBy: a)

        // The control API, by full name and by a plain name only b runs.
        #expect(try await a.ask("echo@b", "hello b") == "hello b")
        #expect(try await a.ask("echo", "plain name") == "plain name")
        // An agent's call: relay calls echo@b and reports the reply.
        let relayed = try await a.ask("relay", "echo@b over the link")
        #expect(relayed.hasPrefix("echo@b replied in ") && relayed.hasSuffix(": over the link"), "\(relayed)")
        // An agent's send, and the sender's full remote name on the other side.
        #expect(try await a.ask("sender", "pinger@b nonsense") == "AOS_OK")
        #expect(try await b.waitForLog("pinger", containing: "bad command from sender@a"))
        // Named errors: no such agent there, no such node, and agentctl's own send.
        #expect(try await a.ask("sender", "nobody@b hi") == "AOS_ENOTFOUND")
        #expect(try await a.ask("sender", "echo@nowhere hi") == "AOS_EPERM")
        await expectAPIError("unreachable", status: 503) { try await a.ask("echo@nowhere", "hi") }
        let sent = try await a.agentctlAsync("send", "echo@b", "from agentctl", "--wait")
        #expect(sent.status == 0 && sent.stdout.contains("from agentctl"), "\(sent.stdout)\(sent.stderr)")

        let nodes = try await a.agentctlAsync("nodes")
        #expect(nodes.stdout.contains("a *") && nodes.stdout.contains("\nb "), "\(nodes.stdout)")
        let ps = try await a.agentctlAsync("ps", "--cluster")
        #expect(ps.stdout.contains("echo@b") && ps.stdout.contains("relay@a"), "\(ps.stdout)")
        let metrics = try await a.client.metricsText()
        #expect(metrics.contains("agentos_cluster_link_up 1") && metrics.contains("agentos_cluster_replies_received_total"))
        try await a.expectHealthy()
        try await b.expectHealthy()
    }

    @Test func concurrentRemoteSendersEachKeepTheirOrder() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b", ["--mailbox", "64"])
        defer { b.stop() }
        try await b.load("ordercheck")
        let senders = ["s1", "s2", "s3"]
        for name in senders { try await a.load("sequencer", as: name, grants: ["send:ordercheck@b"]) }
        try await waitForAgent("ordercheck", on: "b", seenBy: a)

        let replies = try await withThrowingTaskGroup(of: String.self) { group in
            for name in senders { group.addTask { try await a.ask(name, "ordercheck@b 2000", timeoutMs: 60_000) } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(replies == ["ok", "ok", "ok"])
        var report = ""
        _ = try await b.eventually(20) {
            // The control API refuses at once while remote messages still fill the mailbox.
            report = (try? await b.ask("ordercheck", "report")) ?? report
            return report.contains(#""received":6000"#)
        }
        #expect(report == #"{"received":6000,"violations":0}"#)
    }

    @Test func aNodeKilledMidCallFailsTheCallWithUnreachableWithinItsTimeout() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await b.load("slow")
        try await a.load("sender", grants: ["send:*"])
        try await a.load("caller", grants: ["send:slow@b"])
        try await waitForAgent("slow", on: "b", seenBy: a)

        let started = Date()
        // The control API's call, and an agent's (the syscall), queued behind it on b.
        let call = Task { try await a.client.send("slow@b", SendRequest(text: "30000", wait: true, timeoutMs: 20_000)) }
        #expect(try await b.waitForLog("slow", containing: "sleeping 30000 ms"))
        let agentCall = Task { try await a.ask("caller", "slow@b 20000 30000", timeoutMs: 30_000) }
        #expect(try await a.waitForLog("caller", containing: "caller: calling slow@b"))
        b.signal(SIGKILL)
        _ = await b.waitForExit()
        do {
            _ = try await call.value
            Issue.record("the call to a killed node succeeded")
        } catch ControlClientError.api(_, let code, let message) {
            #expect(code == "unreachable", "\(message)")
        }
        #expect(try await agentCall.value == "AOS_EUNREACHABLE")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(try await a.client.metricsText().contains("agentos_cluster_calls_waiting 0"))
        // The node is dropped from the directory; sends to it fail at once with the named status.
        #expect(try await a.eventually(10) { try await a.client.cluster().nodes.allSatisfy { $0.name != "b" } })
        #expect(try await a.ask("sender", "slow@b 1") == "AOS_EUNREACHABLE")
        try await a.expectHealthy()
    }

    @Test func natsStoppedAndRestartedLocalWorkGoesOnAndRemoteResumes() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await a.load("echo", as: "local")
        try await a.load("sender", grants: ["send:*"])
        try await b.load("echo")
        try await waitForAgent("echo", on: "b", seenBy: a)
        #expect(try await a.ask("echo@b", "before") == "before")

        nats.stop()
        #expect(try await a.eventually(10) { try await !a.client.cluster().linkUp })
        // The directory empties: a node counts again once it announces itself after the link is back.
        #expect(try await a.client.cluster().nodes.map(\.name) == ["a"])
        #expect(try await a.ask("local", "still local") == "still local")
        #expect(try await a.ask("sender", "echo@b hi") == "AOS_EUNREACHABLE")
        await expectAPIError("unreachable") { try await a.ask("echo@b", "during") }
        let status = try await a.client.status()
        #expect(status.notReady.contains { $0.contains("cluster link is down") }, "\(status.notReady)")

        try nats.start()
        #expect(try await a.eventually(15) { try await a.client.cluster().linkUp })
        try await waitForAgent("echo", on: "b", seenBy: a)
        #expect(try await a.ask("echo@b", "after") == "after")
        #expect(try await a.client.status().notReady.isEmpty)
    }

    @Test func aNameOnTwoNodesIsAmbiguousUnlessQualified() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        let c = try await node(nats, "c")
        defer { c.stop() }
        try await b.load("echo")
        try await c.load("echo")
        try await a.load("sender", grants: ["send:*"])
        try await waitForAgent("echo", on: "b", seenBy: a)
        try await waitForAgent("echo", on: "c", seenBy: a)

        let message = await expectAPIError("ambiguous", status: 409) { try await a.ask("echo", "which?") }
        #expect(message.contains("echo runs on nodes b, c"), "\(message)")
        #expect(try await a.ask("sender", "echo hi") == "AOS_EAMBIGUOUS")
        #expect(try await a.ask("echo@c", "c please") == "c please")
        // A local agent of the name wins over remote ones.
        try await a.load("echo")
        #expect(try await a.ask("echo", "local first") == "local first")
    }

    @Test func capabilitiesApplyToRemoteNames() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await b.load("echo")
        try await b.load("pinger")
        try await a.load("sender", grants: ["send:pinger@*"])
        try await waitForAgent("echo", on: "b", seenBy: a)

        #expect(try await a.ask("sender", "echo@b hi") == "AOS_EPERM")
        #expect(try await a.ask("sender", "echo hi") == "AOS_EPERM")
        #expect(try await a.ask("sender", "pinger@b nonsense") == "AOS_OK")
        let audit = try await a.client.audit(agent: "sender")
        #expect(audit.contains { $0.decision == "deny" && $0.reason.contains("send:echo@b") }, "\(audit)")
        try await b.expectHealthy()
    }

    // MARK: Bad input

    @Test func anUnreachableURLAtStartIsFatalOnlyWithClusterRequired() async throws {
        let port = NATSServer.freePort()
        let root = KernelProcess.newRoot()
        let result = await onThread {
            try? CommandResult.run(
                Paths.agentosd, ["--engine", "none", "--no-plugins-dir", "--cluster", "nats://127.0.0.1:\(port)", "--node", "a", "--cluster-required"],
                environment: ["AGENTOS_HOME": root + "/home"])
        }
        #expect(result?.status == 1)
        #expect(result?.stderr.contains("agentosd: cannot reach the cluster at nats://127.0.0.1:\(port)") == true, "\(result?.stderr ?? "")")

        // Without it: the kernel starts, works locally, and is not ready until the link is up.
        let a = try await KernelProcess(["--cluster", "nats://127.0.0.1:\(port)", "--node", "a"])
        defer { a.stop() }
        try await a.expectHealthy()
        #expect(try await a.client.status().notReady.contains { $0.contains("cluster link is down") })
        await expectAPIError("unreachable") { try await a.ask("echo@b", "hi") }
    }

    @Test func aNodeNameInUseIsRefused() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let root = KernelProcess.newRoot()
        let url = nats.url
        let result = await onThread {
            try? CommandResult.run(
                Paths.agentosd, ["--engine", "none", "--no-plugins-dir", "--cluster", url, "--node", "a"],
                environment: ["AGENTOS_HOME": root + "/home"])
        }
        #expect(result?.status == 1)
        #expect(result?.stderr.contains("agentosd: node name a is in use in the cluster at \(url)") == true, "\(result?.stderr ?? "")")
        try await a.expectHealthy()
    }

    @Test func aKernelHearingItsNodeNameFromOneStartedEarlierLeavesTheCluster() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await a.load("echo", as: "local")
        try await b.load("echo")
        try await waitForAgent("echo", on: "b", seenBy: a)
        // Two kernels that missed each other at start (one joined late, or across a NATS restart):
        // their announcements meet, and the one that started later (the announcement's id) yields.
        let later = clusterFrame(kind: 4, id: UInt64.max, from: "b", to: "", body: Array("0.1.0\nnone".utf8))
        try nats.publishRaw("agentos.announce", later)
        #expect(try await b.eventually(10) { try await b.client.cluster().rejectedFrames == 1 })
        #expect(try await b.client.cluster().lastRejectedFrame?.contains("started later: that one leaves the cluster") == true)
        #expect(try await b.client.status().notReady.isEmpty)

        let earlier = clusterFrame(kind: 4, id: 1, from: "a", to: "", body: Array("0.1.0\nnone".utf8))
        try nats.publishRaw("agentos.announce", earlier)
        #expect(try await a.eventually(10) {
            try await a.client.status().notReady.contains { $0.contains("node name a is in use by another kernel in the cluster, which started first") }
        })
        let message = await expectAPIError("unreachable") { try await a.ask("echo@b", "hi") }
        #expect(message.contains("this kernel left the cluster (restart it with another --node)"), "\(message)")
        #expect(try await a.ask("local", "local work goes on") == "local work goes on")
        // a stops announcing and answering for its name: b drops it, and a new kernel may take the name.
        #expect(try await b.eventually(10) { try await b.client.cluster().nodes.allSatisfy { $0.name != "a" } })
        let successor = try await node(nats, "a")
        defer { successor.stop() }
        try await successor.load("echo", as: "fresh")
        try await waitForAgent("fresh", on: "a", seenBy: b)
        #expect(try await b.ask("fresh@a", "to the new a") == "to the new a")
        try await a.expectHealthy()
    }

    @Test func aReplyAfterTheCallerGaveUpIsRejectedAsExpired() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await b.load("slow")
        try await a.load("caller", grants: ["send:slow@b"])
        try await waitForAgent("slow", on: "b", seenBy: a)

        // The caller waits 300 ms; slow answers after 1500.
        #expect(try await a.ask("caller", "slow@b 300 1500") == "AOS_ETIMEDOUT")
        #expect(try await a.eventually(10) { try await a.client.cluster().rejectedFrames == 1 })
        let info = try await a.client.cluster()
        #expect(info.lastRejectedFrame?.contains("answers no waiting call (unknown or expired)") == true, "\(info)")
        #expect(try await a.client.metricsText().contains("agentos_cluster_calls_waiting 0"))
        // Both sides go on: the same pair calls again, in time.
        #expect(try await a.ask("caller", "slow@b 10000 10") == "AOS_OK done")
        try await a.expectHealthy()
        try await b.expectHealthy()
    }

    @Test func credentialsArePassedToTheServerAndBadOnesRefusedClearly() async throws {
        let nats = try NATSServer(config: "authorization { user: agentos, password: s3cret }")
        let a = try await node(nats, "a", ["--cluster-user", "agentos", "--cluster-password", "s3cret"])
        defer { a.stop() }
        let b = try await node(nats, "b", ["--cluster-user", "agentos", "--cluster-password", "s3cret"])
        defer { b.stop() }
        try await b.load("echo")
        try await waitForAgent("echo", on: "b", seenBy: a)
        #expect(try await a.ask("echo@b", "authorized") == "authorized")

        let root = KernelProcess.newRoot()
        let url = nats.url
        let result = await onThread {
            try? CommandResult.run(
                Paths.agentosd,
                ["--engine", "none", "--no-plugins-dir", "--cluster", url, "--node", "c", "--cluster-required",
                 "--cluster-user", "agentos", "--cluster-password", "wrong"],
                environment: ["AGENTOS_HOME": root + "/home"])
        }
        #expect(result?.status == 1)
        #expect(
            result?.stderr.contains("agentosd: the cluster at \(url) refused this kernel's credentials") == true,
            "\(result?.stderr ?? "")")
        try await a.expectHealthy()
    }

    @Test func malformedFramesAndStrayRepliesAreRejectedAndCounted() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a")
        defer { a.stop() }
        try await a.load("echo", as: "local")
        let garbage: [[UInt8]] = [
            [], Array("hello".utf8), Array(repeating: 0xFF, count: 64),
            // Lengths that overrun the frame, an unknown kind, a bad receiver name.
            Array(clusterFrame(kind: 1, id: 1, from: "x@b", to: "local", body: Array("hi".utf8)).dropLast()),
            clusterFrame(kind: 99, id: 1, from: "x@b", to: "local"),
            clusterFrame(kind: 1, id: 1, from: "x@b", to: "../etc"),
            clusterFrame(kind: 1, id: 1, from: "no-node", to: "local"),
            // A reply for a call nobody made, and an announcement naming an invalid agent.
            clusterFrame(kind: 3, id: 424_242, from: "echo@b", to: "agentctl@a", body: Array("late".utf8)),
            clusterFrame(kind: 4, id: 0, from: "b", to: "", body: Array("0.1.0\nnone\nbad name!".utf8)),
        ]
        for frame in garbage { try nats.publishRaw("agentos.node.a", frame) }
        try nats.publishRaw("agentos.announce", garbage[8])
        // Each of the nine on a's subject, and the announcement once more on the announcements' subject.
        #expect(try await a.eventually(10) { try await a.client.cluster().rejectedFrames >= 10 })
        let info = try await a.client.cluster()
        #expect(info.nodes.map(\.name) == ["a"])
        #expect(info.lastRejectedFrame?.contains("announcement of b names an invalid agent") == true, "\(info)")
        let metrics = try await a.client.metricsText()
        #expect(metrics.contains("agentos_cluster_frames_rejected_total 10"), "\(metrics)")
        // A well-formed message from a peer is delivered, with its full sender name.
        try nats.publishRaw("agentos.node.a", clusterFrame(kind: 1, id: 7, from: "peer@b", to: "local", body: Array("from a peer".utf8)))
        #expect(try await a.waitForLog("local", containing: "echo: from a peer"))
        try await a.expectHealthy()
    }

    @Test func oversizeRemoteMessagesAreRefusedWithTooBig() async throws {
        let nats = try NATSServer()
        let a = try await node(nats, "a", ["--max-message-bytes", "4000000"])
        defer { a.stop() }
        let b = try await node(nats, "b")
        defer { b.stop() }
        try await b.load("echo")
        try await a.load("sender", grants: ["send:*"])
        try await waitForAgent("echo", on: "b", seenBy: a)

        // Over b's limit (1 MiB): b answers the call with AOS_ETOOBIG.
        await expectAPIError("too_big") { try await a.ask("echo@b", String(repeating: "x", count: 2_000_000)) }
        // A plain message over b's limit is reported back as undelivered; one over a's own never leaves.
        #expect(try await a.ask("sender", "big echo@b 3500000") == "AOS_OK")
        #expect(try await a.eventually(10) {
            try await a.client.metricsText().contains("agentos_cluster_messages_undelivered_total 1")
        })
        #expect(try await a.ask("sender", "big echo@b 5000000") == "AOS_ETOOBIG")
        #expect(try await a.ask("echo@b", "still fine") == "still fine")
        try await b.expectHealthy()
    }
}

extension ControlClient {
    /// The Prometheus text of `/metrics` on the control socket.
    func metricsText() async throws -> String {
        String(decoding: try await raw(.GET, "/metrics").body, as: UTF8.self)
    }
}
