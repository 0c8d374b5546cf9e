import ControlAPI
import ControlClient
import Foundation
import Testing

/// Shared inference over a real `nats-server`: kernel b runs the real model and
/// serves it as "smol" (`--serve-engine smol`); kernel a has no model and uses
/// it (`--engine cluster:smol`).
@Suite(.serialized) struct ClusterInferenceTests {
    /// The serving kernel b.
    private func server(_ nats: NATSServer) async throws -> KernelProcess {
        try await KernelProcess(["--cluster", nats.url, "--node", "b", "--serve-engine", "smol"] + InferenceTests.engine)
    }

    /// The model-less kernel a, once it sees b (when `waitFor` is true).
    private func caller(_ nats: NATSServer, waitFor: Bool = true) async throws -> KernelProcess {
        let a = try await KernelProcess(["--cluster", nats.url, "--node", "a", "--engine", "cluster:smol"])
        if waitFor {
            let seen = try await a.eventually(10) { try await a.client.cluster().nodes.contains { $0.name == "b" } }
            #expect(seen, "node b never showed up")
        }
        return a
    }

    /// A grammar that allows no end before 900 letters: at least 225 tokens unless cancelled.
    private func longGrammar(_ kernel: KernelProcess) throws -> String {
        let path = kernel.scratch("long.gbnf")
        try "root ::= [a-z]{900}".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aModelLessKernelInfersAndStreamsThroughAServingKernel() async throws {
        let nats = try NATSServer()
        let b = try await server(nats)
        defer { _ = b.stop() }
        let a = try await caller(nats)
        defer { _ = a.stop() }

        // The same greedy answer as b gives locally, accounted to the caller's full name on b.
        var request = InferRequest(prompt: "What is a kernel?")
        request.maxTokens = 24
        request.agent = "tester"
        let remote = try await a.client.infer(request)
        let local = try await b.client.infer(request)
        #expect(remote.text == local.text && !remote.text.isEmpty, "\(remote.text) vs \(local.text)")
        #expect(remote.usage.completionTokens == local.usage.completionTokens && remote.usage.promptTokens == local.usage.promptTokens)
        #expect(remote.agent == "tester")
        let metrics = try await b.client.metricsText()
        #expect(metrics.contains(#"agentos_cluster_inference_served_by_agent_total{agent="tester@a"} 1"#), "\(metrics)")
        #expect(metrics.contains("agentos_cluster_inference_served_total 1"))

        // Streamed across the link: agentctl prints the same text piece by piece.
        let streamed = try await a.agentctlAsync("infer", "--max-tokens", "24", "--agent", "tester", "What is a kernel?")
        #expect(streamed.status == 0 && streamed.stdout == remote.text + (remote.text.hasSuffix("\n") ? "" : "\n"), "\(streamed.stdout)\(streamed.stderr)")

        // A grammar travels with the request.
        var constrained = InferRequest(prompt: "Is the sky blue? Answer yes or no.")
        constrained.grammar = #"root ::= "yes" | "no""#
        #expect(["yes", "no"].contains(try await a.client.infer(constrained).text))

        // What each node serves and uses.
        let engine = try await a.agentctlAsync("engine")
        #expect(engine.stdout.contains("cluster") && engine.stdout.contains("smol"), "\(engine.stdout)")
        let nodes = try await a.agentctlAsync("nodes")
        #expect(nodes.stdout.contains("serves smol") && nodes.stdout.contains("cluster smol"), "\(nodes.stdout)")
        try await a.expectHealthy()
        try await b.expectHealthy()
    }

    @Test func cancellingOnTheCallerCancelsOnTheServingNode() async throws {
        let nats = try NATSServer()
        let b = try await server(nats)
        defer { _ = b.stop() }
        let a = try await caller(nats)
        defer { _ = a.stop() }
        let command = try BackgroundCommand(
            Paths.agentctl, ["infer", "--max-tokens", "1000", "--grammar-file", try longGrammar(a), "Write letters."],
            environment: ["AGENTOS_HOME": a.home.path])
        #expect(try await a.eventually(30) { !command.stdout.isEmpty })
        kill(command.process.processIdentifier, SIGINT)
        _ = await command.finish(timeout: 10)
        #expect(try await b.eventually(10) { try await b.client.engine().activeSequences == 0 })
        let generated = try await b.client.engine().generatedTokens
        #expect(generated < 225, "the request ran on after the caller cancelled it: \(generated) tokens")
        #expect(try await a.eventually(10) { try await a.client.engine().activeSequences == 0 })
        try await b.expectHealthy()
    }

    @Test func aServingNodeKilledMidRequestFailsItWithUnreachable() async throws {
        let nats = try NATSServer()
        let b = try await server(nats)
        defer { _ = b.stop() }
        let a = try await caller(nats)
        defer { _ = a.stop() }
        var request = InferRequest(prompt: "Write letters.")
        request.maxTokens = 1000
        request.grammar = "root ::= [a-z]{900}"
        let call = Task { try await a.client.infer(request) }
        #expect(try await b.eventually(30) { try await b.client.engine().activeSequences == 1 })
        b.signal(SIGKILL)
        _ = await b.waitForExit()
        await expectAPIError("unreachable", status: 503) { _ = try await call.value }
        #expect(try await a.client.metricsText().contains("agentos_cluster_inference_failures_total 1"))
        try await a.expectHealthy()
    }

    @Test func withNoServingKernelARequestFailsWithUnreachable() async throws {
        let nats = try NATSServer()
        let a = try await caller(nats, waitFor: false)
        defer { _ = a.stop() }
        await expectAPIError("unreachable", status: 503) { _ = try await a.client.infer(InferRequest(prompt: "hi")) }
        try await a.expectHealthy()
    }

    @Test func malformedInferenceFramesAreRejectedAndCounted() async throws {
        let nats = try NATSServer()
        let b = try await server(nats)
        defer { _ = b.stop() }
        let garbage: [[UInt8]] = [
            Array("hello".utf8),
            // A request whose body is not JSON, one for a model b does not serve, one from no valid agent.
            clusterFrame(kind: 7, id: 1, from: "x@c", to: "smol", body: Array("not json".utf8)),
            clusterFrame(kind: 7, id: 2, from: "x@c", to: "other", body: Array("{}".utf8)),
            clusterFrame(kind: 7, id: 3, from: "no-node", to: "smol", body: Array("{}".utf8)),
            // Valid JSON that fails validation: no messages.
            clusterFrame(kind: 7, id: 4, from: "x@c", to: "smol", body: Array(
                #"{"messages":[],"maxTokens":8,"temperature":0,"topP":1,"seed":0,"stop":[],"tools":[],"toolChoice":"auto","priority":0}"#.utf8)),
        ]
        for frame in garbage { try nats.publishRaw("agentos.infer.smol", frame) }
        #expect(try await b.eventually(10) { try await b.client.cluster().rejectedFrames >= 5 })
        #expect(try await b.client.metricsText().contains("agentos_cluster_inference_served_total 0"))
        #expect(try await b.client.infer(InferRequest(prompt: "Say hi.")).text.isEmpty == false)
        try await b.expectHealthy()
    }
}
