import ControlAPI
import Foundation
import Testing

/// Per sender→receiver FIFO while several senders share one receiver and its
/// mailbox keeps filling up (senders wait for room: back-pressure).
@Suite(.serialized) struct ConcurrentSendersTests {
    @Test func concurrentSendersEachKeepTheirOrder() async throws {
        let kernel = try await KernelProcess(["--mailbox", "64"])
        defer { kernel.stop() }
        try await kernel.load("ordercheck")
        let senders = ["s1", "s2", "s3", "s4"]
        for name in senders { try await kernel.load("sequencer", as: name, grants: ["send:*"]) }

        let replies = try await withThrowingTaskGroup(of: String.self) { group in
            for name in senders {
                group.addTask { try await kernel.ask(name, "ordercheck 5000", timeoutMs: 60_000) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(replies == ["ok", "ok", "ok", "ok"])

        // Every run was queued before its "ok", so the report comes after all of them.
        let report = try await kernel.ask("ordercheck", "report")
        #expect(report == #"{"received":20000,"violations":0}"#)
        for name in senders { #expect(try await kernel.client.instance(name).messagesOut == 5000) }
        #expect(try await kernel.client.instance("ordercheck").messagesIn == 20001)
    }

    /// The fixture itself notices a reordered, repeated or missing message.
    @Test func orderCheckCountsOutOfOrderMessages() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("ordercheck")
        for body in ["a 1", "a 2", "b 1", "a 2", "a 4", "b 2"] {
            _ = try await kernel.client.send("ordercheck", SendRequest(text: body))
        }
        #expect(try await kernel.ask("ordercheck", "report") == #"{"received":6,"violations":2}"#)
    }
}
