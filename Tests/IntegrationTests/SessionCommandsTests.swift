import ControlAPI
import Foundation
import Testing

/// Conversations on a real `agentosd` with the real model: `agentctl infer
/// --session`, `agentctl send --session` to the support agent (and to a
/// process-mode fixture, through its channel), `agentctl sessions`, bad
/// input, and a state database that cannot be used.
@Suite(.serialized) struct SessionCommandsTests {
    private func json<T: Decodable>(_ type: T.Type, _ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        #expect(result.status == 0, "\(result.stderr)", sourceLocation: sourceLocation)
        return try ControlJSON.decoder().decode(type, from: Data(result.stdout.utf8))
    }

    @Test func agentctlInferKeepsAConversationThatSessionsListsShowsAndRemoves() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        let first = try json(InferResult.self, kernel.agentctl(
            "infer", "--session", "demo", "--max-tokens", "16", "-o", "json", "My name is Ada. Say hello to me."))
        let second = try json(InferResult.self, kernel.agentctl(
            "infer", "--session", "demo", "--max-tokens", "16", "-o", "json", "What is my name?"))
        // The second prompt carries the first exchange.
        #expect(second.usage.promptTokens > first.usage.promptTokens + first.usage.completionTokens, "\(first.usage) \(second.usage)")

        let list = try json(SessionList.self, kernel.agentctl("sessions", "ls", "-o", "json"))
        #expect(list.sessions.map { "\($0.agent)/\($0.id) \($0.policy) \($0.turns) \($0.cuts)" } == ["agentctl/demo keep_recent 4 0"])
        let table = try kernel.agentctl("sessions", "ls")
        #expect(table.stdout.hasPrefix("AGENT") && table.stdout.contains("agentctl") && table.stdout.contains("demo"), "\(table.stdout)")

        let detail = try json(SessionDetail.self, kernel.agentctl("sessions", "show", "agentctl", "demo", "-o", "json"))
        #expect(detail.turns.map(\.role) == ["user", "assistant", "user", "assistant"])
        #expect(detail.turns.map(\.content) == ["My name is Ada. Say hello to me.", first.text, "What is my name?", second.text])
        #expect(detail.turns.allSatisfy(\.inPrompt) && detail.cuts.isEmpty && detail.summary == nil && detail.cutThrough == 0)
        let text = try kernel.agentctl("sessions", "show", "agentctl", "demo")
        #expect(text.stdout.hasPrefix("session demo of agentctl: 4 turns (0 cut from the prompt, 0 pruned), policy keep_recent\n  1 user: My name is Ada."), "\(text.stdout)")

        let removed = try kernel.agentctl("sessions", "rm", "agentctl", "demo")
        #expect(removed.status == 0 && removed.stdout == "removed session demo of agentctl (4 turns)\n", "\(removed.stdout) \(removed.stderr)")
        let gone = try kernel.agentctl("sessions", "show", "agentctl", "demo")
        #expect(gone.status == 1 && gone.stderr == "agentctl: agentctl has no session demo (see `agentctl sessions ls`)\n", "\(gone.stderr)")
        // A new conversation under the same id starts empty.
        let again = try json(InferResult.self, kernel.agentctl(
            "infer", "--session", "demo", "--max-tokens", "16", "-o", "json", "What is my name?"))
        #expect(again.usage.promptTokens < second.usage.promptTokens)
    }

    @Test func twoRequestsAtOnceInOneSessionAreBothAnsweredOneAfterTheOther() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        async let first = kernel.agentctlAsync("infer", "--session", "pair", "--max-tokens", "48", "-o", "json", "Name three colours.")
        async let second = kernel.agentctlAsync("infer", "--session", "pair", "--max-tokens", "16", "-o", "json", "Name a fruit.")
        let answers = try await [json(InferResult.self, first), json(InferResult.self, second)]
        // Whichever came second waited for the first and saw its exchange.
        let detail = try json(SessionDetail.self, kernel.agentctl("sessions", "show", "agentctl", "pair", "-o", "json"))
        #expect(detail.turns.map(\.role) == ["user", "assistant", "user", "assistant"])
        let order = detail.turns[0].content == "Name three colours." ? [0, 1] : [1, 0]
        #expect(detail.turns.map(\.content) == [
            ["Name three colours.", "Name a fruit."][order[0]], answers[order[0]].text,
            ["Name three colours.", "Name a fruit."][order[1]], answers[order[1]].text,
        ])
        #expect(answers[order[1]].usage.promptTokens > answers[order[0]].usage.promptTokens + answers[order[0]].usage.completionTokens)
    }

    @Test func badSessionInputIsRefusedByNameAndTheKernelCarriesOn() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("inferer", grants: ["infer"])
        let badID = try kernel.agentctl("infer", "--session", "bad id", "hi")
        #expect(badID.status == 1 && badID.stderr == "agentctl: invalid session id \"bad id\": use 1-128 letters, digits, '_', '.', '-', ':' or '@'\n", "\(badID.stderr)")
        let long = try kernel.agentctl("infer", "--session", String(repeating: "s", count: 129), "hi")
        #expect(long.status == 1 && long.stderr.contains("invalid session id"), "\(long.stderr)")
        let policy = try kernel.agentctl("infer", "--session", "ok", "--session-policy", "forget", "hi")
        #expect(policy.status == 1 && policy.stderr == "agentctl: session_policy \"forget\" is not keep_recent or summarize\n", "\(policy.stderr)")
        let alone = try kernel.agentctl("infer", "--session-policy", "summarize", "hi")
        #expect(alone.status == 2 && alone.stderr.contains("--session-policy needs --session"), "\(alone.stderr)")
        let busy = try kernel.agentctl("infer", "--session", "ok", "--when-busy", "later", "hi")
        #expect(busy.status == 1 && busy.stderr == "agentctl: session_busy \"later\" is not enqueue, reject or interrupt\n", "\(busy.stderr)")
        let busyAlone = try kernel.agentctl("infer", "--when-busy", "reject", "hi")
        #expect(busyAlone.status == 2 && busyAlone.stderr.contains("--when-busy needs --session"), "\(busyAlone.stderr)")
        let send = try kernel.agentctl("send", "inferer", "block 4 hi", "--session", "x y", "--wait")
        #expect(send.status == 1 && send.stderr.contains("invalid session id \"x y\""), "\(send.stderr)")
        let missing = try kernel.agentctl("sessions", "show", "support", "customer-1")
        #expect(missing.status == 1 && missing.stderr == "agentctl: support has no session customer-1 (see `agentctl sessions ls`)\n", "\(missing.stderr)")
        let rm = try kernel.agentctl("sessions", "rm", "support", "customer-1")
        #expect(rm.status == 1 && rm.stderr.contains("has no session customer-1"), "\(rm.stderr)")
        let badShow = try kernel.agentctl("sessions", "show", "support", "a;b")
        #expect(badShow.status == 1 && badShow.stderr.contains("invalid session id \"a;b\""), "\(badShow.stderr)")
        // Without an engine, a session request says so and stores nothing.
        let noEngine = try kernel.agentctl("send", "inferer", "block 4 hi", "--session", "s", "--wait")
        #expect(noEngine.stdout == "err|AOS_EUNAVAIL\n", "\(noEngine.stdout) \(noEngine.stderr)")
        #expect(try json(SessionList.self, kernel.agentctl("sessions", "ls", "-o", "json")).sessions.isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func theSupportAgentKeepsOneSessionPerCustomerAndAFollowUpSeesThePreviousQuestion() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        try await kernel.load("catalog")
        try await kernel.load("support", grants: ["infer", "tool:catalog.*"])
        let question = try kernel.agentctl("send", "support", "How much does the A-200 cost?", "--session", "customer-42", "--wait", "--timeout", "120")
        // Which words a 135M model writes around the price differs between CPUs: the price is checked in the tool's result below.
        #expect(question.status == 0 && !question.stdout.isEmpty, "\(question.stdout) \(question.stderr)")
        let followUp = try kernel.agentctl("send", "support", "And how many are in stock?", "--session", "customer-42", "--wait", "--timeout", "120")
        #expect(followUp.status == 0, "\(followUp.stderr)")

        let detail = try json(SessionDetail.self, kernel.agentctl("sessions", "show", "support", "customer-42", "-o", "json"))
        let users = detail.turns.filter { $0.role == "user" }.map(\.content)
        #expect(users == ["How much does the A-200 cost?", "And how many are in stock?"])
        // The first question's tool call and result are stored as turns.
        let calls = detail.turns.compactMap(\.toolCalls).flatMap { $0 }
        #expect(calls.first?.name == "catalog.lookup_product" && calls.first?.arguments.contains("A-200") == true, "\(calls)")
        #expect(detail.turns.contains { $0.role == "tool" && $0.content.contains("229") })
        // The follow-up names no product: the model takes it from the session's earlier turns.
        let followUpStart = try #require(detail.turns.lastIndex { $0.role == "user" })
        let laterCalls = detail.turns[followUpStart...].compactMap(\.toolCalls).flatMap { $0 }
        #expect(laterCalls.contains { $0.arguments.contains("A-200") }, "the follow-up's tool calls: \(laterCalls)")
        #expect(detail.turns.last?.role == "assistant" && detail.turns.last?.content == followUp.stdout.trimmingCharacters(in: .newlines))

        // Another customer has a session of their own.
        let other = try kernel.agentctl("send", "support", "Do you sell tents?", "--session", "customer-7", "--wait", "--timeout", "120")
        #expect(other.status == 0, "\(other.stderr)")
        let list = try json(SessionList.self, kernel.agentctl("sessions", "ls", "support", "-o", "json"))
        #expect(list.sessions.map(\.id) == ["customer-42", "customer-7"])
        #expect(try json(SessionDetail.self, kernel.agentctl("sessions", "show", "support", "customer-7", "-o", "json")).turns.first?.content == "Do you sell tents?")
    }

    @Test func aProcessModeAgentGetsItsSessionThroughTheChannel() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("inferer"), name: "boxed", grants: ["infer"], isolation: "process"))
        let first = try kernel.agentctl("send", "boxed", "block 8 Remember the word kiwi.", "--session", "s-1", "--wait", "--timeout", "60")
        #expect(first.status == 0 && first.stdout.hasPrefix("ok|"), "\(first.stdout) \(first.stderr)")
        let second = try kernel.agentctl("send", "boxed", "block 8 Which word?", "--session", "s-1", "--wait", "--timeout", "60")
        #expect(second.status == 0 && second.stdout.hasPrefix("ok|"), "\(second.stdout) \(second.stderr)")
        let detail = try json(SessionDetail.self, kernel.agentctl("sessions", "show", "boxed", "s-1", "-o", "json"))
        #expect(detail.turns.map(\.role) == ["user", "assistant", "user", "assistant"])
        #expect(detail.turns.first?.content == "Remember the word kiwi.")
        let summarize = try kernel.agentctl("send", "boxed", "summarize 8 And now?", "--session", "s-1", "--wait", "--timeout", "60")
        #expect(summarize.stdout.hasPrefix("ok|"), "\(summarize.stdout) \(summarize.stderr)")
        let info = try json(SessionList.self, kernel.agentctl("sessions", "ls", "boxed", "-o", "json")).sessions.first
        #expect(info?.policy == "summarize" && info?.turns == 6, "the policy came through the channel: \(String(describing: info))")
    }

    @Test func aCorruptStateDatabaseFailsSessionsByNameWhileInferenceWithoutOneWorks() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/home", withIntermediateDirectories: true)
        let garbage = Data(repeating: 0x5A, count: 8192)
        FileManager.default.createFile(atPath: root + "/home/state.sqlite", contents: garbage)
        let kernel = try await KernelProcess(InferenceTests.engine, root: root)
        defer { kernel.stop() }
        let session = try kernel.agentctl("infer", "--session", "s", "--max-tokens", "4", "hi")
        #expect(session.status == 1, "\(session.stdout)")
        #expect(session.stderr.contains("sessions are unavailable: state database \(root)/home/state.sqlite is corrupt ("), "\(session.stderr)")
        let list = try kernel.agentctl("sessions", "ls")
        #expect(list.status == 1 && list.stderr.contains("is corrupt"), "\(list.stderr)")
        let plain = try kernel.agentctl("infer", "--max-tokens", "4", "hi")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(FileManager.default.contents(atPath: root + "/home/state.sqlite") == garbage, "the file is left untouched")
        try await kernel.expectHealthy()
    }

    @Test func sessionRetentionOptionsDeleteIdleSessionsAndKeepTurnsStillInThePrompt() async throws {
        // 0.00002 days: 1.728 s. 2 turns kept at most.
        let kernel = try await KernelProcess(InferenceTests.engine + ["--session-max-idle-days", "0.00002", "--session-max-turns", "2"])
        defer { kernel.stop() }
        _ = try json(InferResult.self, kernel.agentctl("infer", "--session", "old", "--max-tokens", "8", "-o", "json", "Say hi."))
        try await Task.sleep(nanoseconds: 2_500_000_000)
        _ = try json(InferResult.self, kernel.agentctl("infer", "--session", "new", "--max-tokens", "8", "-o", "json", "Say hi."))
        // The session unused past the limit went when the next turn was stored.
        let list = try json(SessionList.self, kernel.agentctl("sessions", "ls", "-o", "json"))
        #expect(list.sessions.map(\.id) == ["new"], "\(list)")
        // Turns still in the prompt are kept past --session-max-turns: nothing was cut, nothing pruned.
        _ = try json(InferResult.self, kernel.agentctl("infer", "--session", "new", "--max-tokens", "8", "-o", "json", "Again."))
        let detail = try json(SessionDetail.self, kernel.agentctl("sessions", "show", "agentctl", "new", "-o", "json"))
        #expect(detail.turns.count == 4 && detail.turns.allSatisfy(\.inPrompt), "\(detail.turns)")
        try await kernel.expectHealthy()
    }
}
