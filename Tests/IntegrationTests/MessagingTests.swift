import ControlAPI
import Foundation
import StrictJSON
import Testing

/// Loading, messaging and unloading real plugins through a real kernel.
@Suite struct MessagingTests {
    @Test func loadSendReplyUnloadThroughAgentctl() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }

        let load = try kernel.agentctl("load", Paths.plugin("echo"))
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stdout.contains("echo"))

        let reply = try kernel.agentctl("send", "echo", "hello, kernel", "--wait")
        #expect(reply.status == 0, "\(reply.stderr)")
        #expect(reply.stdout == "hello, kernel\n")

        let ps = try kernel.agentctl("ps", "-o", "json")
        let list = try InstanceList(json: JSONParser.parse(ps.stdout))
        let echo = try #require(list.instances.first { $0.name == "echo" })
        #expect(echo.state == "running")
        #expect(echo.messagesIn == 1)
        #expect(echo.mailboxLimit == 1024)

        let unload = try kernel.agentctl("unload", "echo")
        #expect(unload.status == 0, "\(unload.stderr)")
        #expect(try await kernel.client.instances().isEmpty)
        let all = try await kernel.client.instances(all: true)
        #expect(all.first { $0.name == "echo" }?.state == "stopped")
        #expect(kernel.stop().status == 0)
    }

    @Test func oneFileLoadsAsSeveralInstancesWithTheirOwnState() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("counter", as: "a")
        try await kernel.load("counter", as: "b", config: "start=100")
        #expect(try await kernel.ask("a", "x") == "1")
        #expect(try await kernel.ask("a", "x") == "2")
        #expect(try await kernel.ask("b", "x") == "101")
    }

    @Test func agentsCallEachOtherThroughTheKernel() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        try await kernel.load("pinger", grants: ["send:echo", "send:counter"])
        let report = try await kernel.ask("pinger", "ping 200 echo 64")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any], "\(report)")
        #expect(json["ok"] as? Int == 200)
        #expect(json["errors"] as? Int == 0)
        let pinger = try await kernel.client.instance("pinger")
        #expect(pinger.messagesOut == 200)
    }

    @Test func floodKeepsEveryMessageInOrder() async throws {
        let kernel = try await KernelProcess(["--mailbox", "16"])
        defer { kernel.stop() }
        try await kernel.load("counter")
        try await kernel.load("pinger", grants: ["send:echo", "send:counter"])
        let report = try await kernel.ask("pinger", "flood 20000 counter", timeoutMs: 60_000)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any], "\(report)")
        #expect(json["sent"] as? Int == 20000)
        // The final call arrives after all 20,000 messages: per-sender FIFO.
        #expect(json["target_reply"] as? String == "20001")
    }
}
