import AgentOSTesting
import Foundation
import GRDB
import KernelCore
import KernelPOSIX
import StateStore
import Testing

/// Conversations through a real kernel, the real `inferer` fixture (dlopen,
/// `aos_infer_request.session` from `aos_message.session`), a real state
/// database in a temporary folder, and the deterministic engine (the real
/// model's run is in IntegrationTests/SessionCommandsTests).
@Suite struct SessionTests {
    private static let system = "You are a helpful assistant. Answer briefly."

    /// A fresh state database, and a kernel with `engine` keeping sessions in it.
    private static func kernel(
        _ engine: SimulatedEngine = SimulatedEngine(driver: .thread), retention: SessionRetention = SessionRetention()
    ) async throws -> (Kernel, StateDatabase) {
        let database = try StateDatabase(path: NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite")
        let sessions = SessionService(store: SQLiteSessionStore(database: database), retention: retention)
        let kernel = try TestKernel.withPluginFiles(engine: engine, sessions: sessions)
        _ = try await kernel.lifecycle.load(path: pluginPath("inferer"), name: "p", grants: [.infer])
        return (kernel, database)
    }

    private static func ask(_ kernel: Kernel, _ text: String, session: String? = nil, to agent: String = "p") async throws -> String {
        let answer = try await kernel.messages.deliver(to: agent, body: Array(text.utf8), wait: true, timeoutMs: 20_000, session: session)
        return String(decoding: answer.reply ?? [], as: UTF8.self)
    }

    /// `count` stored turns of about `bytes` bytes each, user and assistant in turn, straight into the store.
    private static func seed(_ database: StateDatabase, agent: String, session: String, count: Int, bytes: Int) throws {
        let words = String(repeating: "word ", count: bytes / 5)
        let turns = (0..<count).map { index in
            NewSessionTurn(
                message: ChatMessage(role: index % 2 == 0 ? "user" : "assistant", content: "\(index) \(words)"),
                tokens: words.utf8.count + 12)
        }
        try SQLiteSessionStore(database: database).append(
            agent: agent, session: session, policy: .keepRecent, cut: nil, turns: turns, retention: SessionRetention(),
            now: Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// The kernel still answers, without a session and in another one.
    private static func expectUndisturbed(_ kernel: Kernel) async throws {
        #expect(try await ask(kernel, "block 2 still there?") == "ok|length|9|2|-|t0 t1 ")
        _ = try? await kernel.lifecycle.load(path: pluginPath("inferer"), name: "bystander", grants: [.infer])
        #expect(try await ask(kernel, "block 2 hello", session: "bystander-1", to: "bystander") == "ok|length|8|2|-|t0 t1 ")
    }

    @Test func aSessionCarriesItsTurnsIntoTheNextPromptAndStoresEachExchange() async throws {
        let engine = SimulatedEngine(driver: .thread)
        let (kernel, _) = try await Self.kernel(engine)
        #expect(try await Self.ask(kernel, "block 3 My name is Ada", session: "customer-42") == "ok|length|11|3|-|t0 t1 t2 ")
        #expect(try await Self.ask(kernel, "block 2 What is my name", session: "customer-42").hasPrefix("ok|length|"))
        let prompt = try #require(engine.turns.last).messages
        #expect(prompt.map(\.role) == ["system", "user", "assistant", "user"])
        #expect(prompt.map(\.content) == [Self.system, "My name is Ada", "t0 t1 t2 ", "What is my name"])
        #expect(engine.turns.last?.session == nil, "engines never see the session")

        let transcript = try kernel.sessions.show(agent: "p", session: "customer-42")
        #expect(transcript.turns.map(\.message.content) == ["My name is Ada", "t0 t1 t2 ", "What is my name", "t0 t1 "])
        #expect(transcript.turns.map(\.seq) == [1, 2, 3, 4])
        #expect(transcript.cuts.isEmpty && transcript.summary == nil && transcript.cutThrough == 0)
        #expect(try kernel.sessions.list().map { "\($0.agent)/\($0.id):\($0.turns)" } == ["p/customer-42:4"])
        // Another session of the same agent starts empty.
        #expect(try await Self.ask(kernel, "block 2 Hello", session: "customer-7") == "ok|length|8|2|-|t0 t1 ")
        #expect(try kernel.sessions.list(agent: "p").map(\.id) == ["customer-42", "customer-7"])
    }

    @Test func badSessionRequestsAreRefusedByNameAndStoreNothing() async throws {
        let (kernel, _) = try await Self.kernel()
        #expect(try await Self.ask(kernel, "bad-session 4 hi") == "err|AOS_EINVAL")
        #expect(try await Self.ask(kernel, "bad-policy 4 hi") == "err|AOS_EINVAL")
        #expect(try await Self.ask(kernel, "bad-busy 4 hi") == "err|AOS_EINVAL")
        #expect(try await Self.ask(kernel, "bad-onlysystem 4 hi", session: "s1") == "err|AOS_EINVAL")
        let log = kernel.log(of: "p")?.tail(10).map(\.text) ?? []
        #expect(log.contains { $0.contains("invalid session id \"not a valid id!\": use 1-128 letters, digits, '_', '.', '-', ':' or '@'") }, "\(log)")
        #expect(log.contains { $0.contains("session_policy 9 is not an AOS_SESSION_* value") }, "\(log)")
        #expect(log.contains { $0.contains("session_busy 9 is not an AOS_SESSION_BUSY_* value") }, "\(log)")
        #expect(log.contains { $0.contains("a session request needs a new message (one that is not a system message)") }, "\(log)")
        // Through the control API: ids that break the rule, one at the limit.
        for bad in ["", "has space", "ünïcode", String(repeating: "a", count: 129), "semi;colon"] {
            await #expect(throws: KernelError.self) { try await Self.ask(kernel, "block 2 hi", session: bad) }
        }
        #expect(try await Self.ask(kernel, "block 2 hi", session: String(repeating: "a", count: 128)) == "ok|length|8|2|-|t0 t1 ")
        // An ABI 1.9 request never has its session read.
        #expect(try await Self.ask(kernel, "oldsession 2 hi", session: "s-old") == "ok|length|8|2|-|t0 t1 ")
        #expect(try kernel.sessions.list().map(\.id) == [String(repeating: "a", count: 128)])
        try await Self.expectUndisturbed(kernel)
    }

    @Test func aHistoryAHundredTimesTheContextKeepsTheRecentTurnsAndRecordsTheCut() async throws {
        let engine = SimulatedEngine(driver: .thread, contextTokens: 512)
        let (kernel, database) = try await Self.kernel(engine)
        // 200 turns of ~256 tokens: 100 times the 512-token context.
        try Self.seed(database, agent: "p", session: "long", count: 200, bytes: 256)
        #expect(try await Self.ask(kernel, "block 8 and now?", session: "long").hasPrefix("ok|length|"))
        let prompt = try #require(engine.turns.last).messages
        let tokens = prompt.reduce(0) { $0 + $1.content.utf8.count + SessionPrompt.messageOverhead }
        #expect(tokens <= 512 - 8, "the prompt fits the context, answer included: \(tokens)")
        #expect(prompt.first?.content == Self.system && prompt.last?.content == "and now?")
        #expect(prompt.dropFirst().first?.content.hasPrefix("199 ") == true, "the newest stored turn is kept: \(prompt.map { $0.content.prefix(8) })")

        let transcript = try kernel.sessions.show(agent: "p", session: "long")
        #expect(transcript.turns.count == 202, "no turn deleted: cut turns stay stored")
        let cut = try #require(transcript.cuts.first)
        #expect(transcript.cuts.count == 1 && cut.kind == .dropped && cut.fromSeq == 1 && cut.throughSeq == 199 && cut.turns == 199)
        #expect(cut.reason.hasPrefix("the history is ") && cut.reason.contains("the context leaves 504 for the prompt (keep_recent)"), "\(cut.reason)")
        #expect(transcript.cutThrough == 199)
        let info = try #require(try kernel.sessions.list().first)
        #expect(info.turns == 202 && info.cutTurns == 199 && info.cuts == 1)
        // The next request starts from the cut: nothing more to cut.
        #expect(try await Self.ask(kernel, "block 2 again", session: "long").hasPrefix("ok|"))
        #expect(try kernel.sessions.show(agent: "p", session: "long").cuts.count == 1)
        try await Self.expectUndisturbed(kernel)
    }

    @Test func summarizePinsTheModelsSummaryAndSaysWhatItCouldNotCover() async throws {
        let engine = SimulatedEngine(driver: .thread, script: { parameters in
            parameters.messages.first?.content.hasPrefix("You write the running summary") == true
                ? ("Ada asked about tents.", []) : ("fine", [])
        }, contextTokens: 512)
        let (kernel, database) = try await Self.kernel(engine)
        try Self.seed(database, agent: "p", session: "long", count: 200, bytes: 256)
        #expect(try await Self.ask(kernel, "summarize 8 and now?", session: "long").hasPrefix("ok|stop|"))
        let turns = engine.turns
        let summary = try #require(turns.dropLast().last, "a summary request ran first")
        #expect(summary.maxTokens == SessionPrompt.summaryTokens && summary.messages.last?.content.contains("199 word") == true)
        let prompt = try #require(turns.last).messages
        #expect(prompt.map(\.role).prefix(2) == ["system", "system"])
        #expect(prompt[1].content == "Summary of the earlier conversation: Ada asked about tents.")
        #expect(prompt.reduce(0) { $0 + $1.content.utf8.count + SessionPrompt.messageOverhead } <= 504)

        let transcript = try kernel.sessions.show(agent: "p", session: "long")
        let cut = try #require(transcript.cuts.first)
        #expect(cut.kind == .summarized && cut.summary == "Ada asked about tents." && cut.fromSeq == 1 && cut.throughSeq == 200)
        #expect(cut.reason.contains("(summarize: ") && cut.reason.contains("did not fit the summary request and were dropped"), "\(cut.reason)")
        #expect(transcript.summary == "Ada asked about tents." && transcript.turns.count == 202)
        // The pinned summary rides along on the next request.
        #expect(try await Self.ask(kernel, "summarize 8 more?", session: "long").hasPrefix("ok|stop|"))
        #expect(engine.turns.last?.messages[1].content == "Summary of the earlier conversation: Ada asked about tents.")
        #expect(engine.turns.last?.messages.suffix(3).map(\.content) == ["and now?", "fine", "more?"])
    }

    @Test func aNewMessageLargerThanTheContextIsTooBigAndStoresNothing() async throws {
        let (kernel, _) = try await Self.kernel(SimulatedEngine(driver: .thread, contextTokens: 512))
        #expect(try await Self.ask(kernel, "long 100 far too long", session: "s") == "err|AOS_ETOOBIG")
        let log = kernel.log(of: "p")?.tail(5).map(\.text) ?? []
        #expect(log.contains { $0.contains("the request's system and new messages are ") && $0.contains("tokens; the context leaves 496 for the prompt") }, "\(log)")
        #expect(try kernel.sessions.list().isEmpty)
        try await Self.expectUndisturbed(kernel)
    }

    /// A request in session "s" of the control API.
    private static func parameters(_ text: String, maxTokens: Int = 2, whenBusy: SessionBusyPolicy = .enqueue) -> InferenceParameters {
        var parameters = InferenceParameters(messages: [ChatMessage(role: "user", content: text)], maxTokens: maxTokens)
        parameters.session = "s"
        parameters.sessionWhenBusy = whenBusy
        return parameters
    }

    @Test func aSessionAnswersOneRequestAtATimeAndACancelledOneStoresNothing() async throws {
        let (kernel, _) = try await Self.kernel(SimulatedEngine(slots: 2, driver: .thread))
        let parameters = { (text: String, maxTokens: Int) in Self.parameters(text, maxTokens: maxTokens, whenBusy: .reject) }
        // Long enough to be running while the test asks again; cancelled below.
        let first = Recorder()
        let running = try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: parameters("one", 500_000), sink: first)
        do throws(KernelError) {
            _ = try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: parameters("two", 2), sink: Recorder())
            Issue.record("a second request in a busy session was accepted")
        } catch {
            #expect(error.code == .conflict && error.message == "session s of agentctl is answering request \(running.id): send the next message after its answer")
        }
        #expect(throws: KernelError(.conflict, "session s of agentctl is answering request \(running.id): delete it after the answer (or cancel the request)")) {
            try kernel.sessions.delete(agent: "agentctl", session: "s")
        }
        // Another agent's session of the same name is its own.
        let other = Recorder()
        _ = try kernel.inference.submit(agent: "p", priority: 0, parameters: parameters("mine", 2), sink: other)
        #expect(try await other.outcome(within: 10)?.get().text == "t0 t1 ")
        running.cancel()
        #expect(try await first.outcome(within: 10)?.get().finishReason == .cancelled)
        let second = Recorder()
        _ = try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: parameters("two", 2), sink: second)
        #expect(try await second.outcome(within: 10)?.get().text == "t0 t1 ")
        #expect(try kernel.sessions.show(agent: "agentctl", session: "s").turns.map(\.message.content) == ["two", "t0 t1 "])
        try kernel.sessions.delete(agent: "agentctl", session: "s")
        #expect(throws: KernelError(.notFound, "agentctl has no session s (see `agentctl sessions ls`)")) {
            try kernel.sessions.delete(agent: "agentctl", session: "s")
        }
        #expect(try kernel.sessions.list().map(\.agent) == ["p"])
    }

    @Test func aRequestToABusySessionWaitsItsTurnOrInterruptsAndACancelledWaiterStoresNothing() async throws {
        let (kernel, _) = try await Self.kernel(SimulatedEngine(slots: 2, driver: .thread))
        func submit(_ parameters: InferenceParameters, _ sink: Recorder) throws -> InferenceHandle {
            try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: parameters, sink: sink)
        }
        // Long enough to be running while the others arrive.
        let first = Recorder(), second = Recorder(), third = Recorder(), fourth = Recorder()
        _ = try submit(Self.parameters("one", maxTokens: 500_000), first)
        _ = try submit(Self.parameters("two"), second)
        let waiting = try submit(Self.parameters("three"), third)
        // Cancelled while it waits: it finishes as cancelled at once, and by its id too.
        #expect(kernel.inference.cancel(id: waiting.id, owner: nil))
        #expect(try await third.outcome(within: 10)?.get().finishReason == .cancelled)
        #expect(!kernel.inference.cancel(id: waiting.id, owner: nil))
        // An interrupting request cancels the one being answered and goes ahead of the queue.
        _ = try submit(Self.parameters("four", whenBusy: .interrupt), fourth)
        #expect(try await first.outcome(within: 10)?.get().finishReason == .cancelled)
        #expect(try await fourth.outcome(within: 10)?.get().text == "t0 t1 ")
        #expect(try await second.outcome(within: 10)?.get().text == "t0 t1 ")
        // Answered one at a time, each after the turns before it; cancelled requests stored nothing.
        #expect(try kernel.sessions.show(agent: "agentctl", session: "s").turns.map(\.message.content) == ["four", "t0 t1 ", "two", "t0 t1 "])
    }

    @Test func atMostSixteenRequestsWaitForOneSessionAndEachIsAnsweredInOrder() async throws {
        let (kernel, _) = try await Self.kernel(SimulatedEngine(slots: 2, driver: .thread))
        let first = Recorder()
        let running = try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: Self.parameters("zero", maxTokens: 500_000), sink: first)
        let waiters = (1...SessionService.maxWaiting).map { _ in Recorder() }
        for (index, waiter) in waiters.enumerated() {
            _ = try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: Self.parameters("w\(index + 1)"), sink: waiter)
        }
        #expect(throws: KernelError(.conflict, "session s of agentctl has 16 requests waiting: send the next message after an answer")) {
            try kernel.inference.submit(agent: "agentctl", priority: 0, parameters: Self.parameters("one too many"), sink: Recorder())
        }
        running.cancel()
        for waiter in waiters { #expect(try await waiter.outcome(within: 20)?.get().text == "t0 t1 ") }
        let turns = try kernel.sessions.show(agent: "agentctl", session: "s").turns.map(\.message.content)
        #expect(turns == (1...16).flatMap { ["w\($0)", "t0 t1 "] })
    }

    @Test func withoutAStateDatabaseSessionsFailByNameAndInferenceWithoutOneWorks() async throws {
        let engine = SimulatedEngine(driver: .thread)
        let reason = "state database /x/state.sqlite is corrupt (file is not a database): stop the kernel, move the file aside"
        let kernel = try TestKernel.withPluginFiles(engine: engine, sessions: SessionService(store: nil, reason: reason))
        _ = try await kernel.lifecycle.load(path: pluginPath("inferer"), name: "p", grants: [.infer])
        #expect(try await Self.ask(kernel, "block 2 hi", session: "s") == "err|AOS_ESTORAGE")
        #expect(kernel.log(of: "p")?.tail(3).contains { $0.text.contains("sessions are unavailable: \(reason)") } == true)
        #expect(throws: KernelError(.storageUnavailable, "sessions are unavailable: \(reason)")) { try kernel.sessions.list() }
        #expect(try await Self.ask(kernel, "block 2 hi") == "ok|length|8|2|-|t0 t1 ")
    }

    @Test func anAnswerThatCannotBeStoredFailsWithESTORAGEAndTheSessionStaysAsItWas() async throws {
        let (kernel, database) = try await Self.kernel()
        #expect(try await Self.ask(kernel, "block 2 first", session: "s").hasPrefix("ok|"))
        // As root, file modes do not stop writes: make the writer's connection read-only instead.
        try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
        #expect(try await Self.ask(kernel, "block 2 second", session: "s") == "err|AOS_ESTORAGE")
        let log = kernel.log(of: "p")?.tail(3).map(\.text) ?? []
        #expect(log.contains { $0.contains("the answer could not be stored in session s: sessions are unavailable: state database \(database.path) is read-only") }, "\(log)")
        #expect(try kernel.sessions.show(agent: "p", session: "s").turns.count == 2, "reads still served")
        #expect(try await Self.ask(kernel, "block 2 no session") == "ok|length|9|2|-|t0 t1 ")
        try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
        #expect(try await Self.ask(kernel, "block 2 third", session: "s").hasPrefix("ok|"), "the failed request released the session")
        #expect(try kernel.sessions.show(agent: "p", session: "s").turns.map(\.message.content) == ["first", "t0 t1 ", "third", "t0 t1 "])
    }

    @Test func retentionPrunesOnlyCutTurnsPastTheCountAndSessionsIdlePastTheAge() throws {
        let database = try StateDatabase(path: NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite")
        let store = SQLiteSessionStore(database: database)
        let retention = SessionRetention(maxIdleMilliseconds: 1000, maxStoredTurns: 4)
        func turns(_ names: String...) -> [NewSessionTurn] { names.map { NewSessionTurn(message: ChatMessage(role: "user", content: $0), tokens: 9) } }
        try store.append(agent: "a", session: "s", policy: .keepRecent, cut: nil, turns: turns("1", "2", "3", "4", "5", "6"), retention: retention, now: 10_000)
        #expect(try store.transcript(agent: "a", session: "s")?.turns.count == 6, "turns still in the prompt are never pruned")
        let cut = SessionCut(fromSeq: 1, throughSeq: 3, turns: 3, kind: .dropped, summary: nil, reason: "test", at: 10_500)
        try store.append(agent: "a", session: "s", policy: .keepRecent, cut: cut, turns: turns("7"), retention: retention, now: 10_500)
        let transcript = try #require(try store.transcript(agent: "a", session: "s"))
        #expect(transcript.turns.map(\.message.content) == ["4", "5", "6", "7"])
        #expect(transcript.info.prunedTurns == 3 && transcript.info.cutTurns == 0 && transcript.cuts.count == 1)
        #expect(try store.history(agent: "a", session: "s")?.turns.map(\.seq) == [4, 5, 6, 7])
        // Idle past the age: removed with its turns and cuts when any session is next written.
        try store.append(agent: "b", session: "t", policy: .summarize, cut: nil, turns: turns("x"), retention: retention, now: 12_000)
        #expect(try store.sessions(agent: nil).map(\.id) == ["t"])
        #expect(try store.transcript(agent: "a", session: "s") == nil)
        #expect(try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM session_turns WHERE agent = 'a'") } == 0)
        #expect(try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM session_cuts") } == 0)
    }

    @Test func toolCallsAndResultsAreStoredAsTurns() throws {
        let database = try StateDatabase(path: NSTemporaryDirectory() + "agentos-state-\(UUID().uuidString).sqlite")
        let store = SQLiteSessionStore(database: database)
        let call = ToolCallRequest(id: "call_1", name: "catalog.lookup_product", arguments: #"{"sku":"A-200"}"#)
        try store.append(
            agent: "support", session: "c", policy: .keepRecent, cut: nil,
            turns: [
                NewSessionTurn(message: ChatMessage(role: "assistant", content: "", toolCalls: [call]), tokens: 20),
                NewSessionTurn(message: ChatMessage(role: "tool", content: #"{"price":229}"#, toolCallID: "call_1"), tokens: 12),
            ],
            retention: SessionRetention(), now: 1)
        let turns = try #require(try store.history(agent: "support", session: "c")).turns
        #expect(turns.map(\.message) == [
            ChatMessage(role: "assistant", content: "", toolCalls: [call]),
            ChatMessage(role: "tool", content: #"{"price":229}"#, toolCallID: "call_1"),
        ])
    }
}
