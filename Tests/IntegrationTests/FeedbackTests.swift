import ControlAPI
import Foundation
import Testing

/// Rating answers through a real kernel: `send --wait` prints the request id,
/// `agentctl feedback` rates it, stats, export and /metrics show it; a bad
/// feedback database disables feedback, never the kernel.
@Suite struct FeedbackTests {
    /// N from the `[request N]` line `agentctl send --wait` writes to stderr.
    static func requestID(_ stderr: String) -> UInt64? {
        for line in stderr.split(separator: "\n") where line.hasPrefix("[request ") && line.hasSuffix("]") {
            return UInt64(line.dropFirst("[request ".count).dropLast())
        }
        return nil
    }

    /// The export's lines, each as a JSON object.
    static func exported(_ kernel: KernelProcess, _ arguments: String...) async throws -> [[String: Any]] {
        let export = try await kernel.startAgentctl(["feedback", "export"] + arguments).finish()
        #expect(export.status == 0, "\(export.stderr)")
        return try export.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    static func stats(_ kernel: KernelProcess, _ arguments: String...) async throws -> FeedbackStats {
        let stats = try await kernel.startAgentctl(["feedback", "stats", "-o", "json"] + arguments).finish()
        #expect(stats.status == 0, "\(stats.stderr)")
        return try ControlJSON.decoder().decode(FeedbackStats.self, from: Data(stats.stdout.utf8))
    }

    @Test func anAnswerRatedByItsRequestIdShowsInStatsExportAndMetrics() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")

        let send = try await kernel.agentctlAsync("send", "echo", "What is 2+2?", "--wait")
        #expect(send.status == 0, "\(send.stderr)")
        #expect(send.stdout == "What is 2+2?\n", "the reply alone on stdout, so it can be piped on")
        let id = try #require(Self.requestID(send.stderr), "\(send.stderr)")

        let rate = try await kernel.agentctlAsync("feedback", "\(id)", "up", "--comment", "spot on")
        #expect(rate.status == 0, "\(rate.stderr)")
        #expect(rate.stdout == "rated request \(id) from echo: up\n")
        let other = try await kernel.client.send("echo", SendRequest(text: "And 3+3?", wait: true, timeoutMs: 10_000))
        let down = try await kernel.agentctlAsync("feedback", "rate", "\(other.messageId)", "down")
        #expect(down.status == 0, "\(down.stderr)")

        #expect(try await Self.stats(kernel).agents == [AgentFeedbackStats(agent: "echo", count: 2, up: 1, down: 1, satisfactionRate: 0.5)])
        #expect(try await Self.stats(kernel, "--since", "1h", "--agent", "echo").sinceSeconds == 3600)
        #expect(try await Self.stats(kernel, "--agent", "nobody").agents.isEmpty)
        let table = try await kernel.agentctlAsync("feedback", "stats")
        #expect(table.stdout == "AGENT   RATED   UP   DOWN   SATISFACTION\necho    2       1    1      50%\n", "\(table.stdout)")

        let lines = try await Self.exported(kernel)
        #expect(lines.count == 2)
        let first = try #require(lines.first)
        #expect(Set(first.keys) == ["request_id", "agent", "question", "answer", "rating", "comment", "created_at"])
        #expect(first["request_id"] as? Int == Int(id))
        #expect(first["agent"] as? String == "echo")
        #expect(first["question"] as? String == "What is 2+2?")
        #expect(first["answer"] as? String == "What is 2+2?")
        #expect(first["rating"] as? String == "up")
        #expect(first["comment"] as? String == "spot on")
        #expect((first["created_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) } != nil)
        #expect(lines.last?["rating"] as? String == "down")
        #expect(lines.last?["comment"] is NSNull, "no comment is null, not a missing key")
        #expect(try await Self.exported(kernel, "--agent", "nobody").isEmpty)

        var metrics = try await ObservabilityTests.scrape(kernel)
        #expect(metrics[#"agentos_feedback_total{agent="echo",rating="up"}"#] == 1)
        #expect(metrics[#"agentos_feedback_total{agent="echo",rating="down"}"#] == 1)

        // Rating again replaces the rating; the counter counts every rating given.
        let again = try await kernel.agentctlAsync("feedback", "\(id)", "down", "-o", "json")
        #expect(again.status == 0, "\(again.stderr)")
        let entry = try ControlJSON.decoder().decode(FeedbackEntry.self, from: Data(again.stdout.utf8))
        #expect(entry.rating == .down && entry.comment == nil && entry.question == "What is 2+2?")
        #expect(try await Self.stats(kernel).agents == [AgentFeedbackStats(agent: "echo", count: 2, up: 0, down: 2, satisfactionRate: 0)])
        let replaced = try await Self.exported(kernel)
        #expect(replaced.map { $0["request_id"] as? Int } == [Int(id), Int(other.messageId)])
        #expect(replaced.first?["comment"] is NSNull)
        metrics = try await ObservabilityTests.scrape(kernel)
        #expect(metrics[#"agentos_feedback_total{agent="echo",rating="down"}"#] == 2)
        #expect(metrics[#"agentos_feedback_total{agent="echo",rating="up"}"#] == 1)
    }

    @Test func anUnknownRequestIdExitsOneWithTheReason() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let unknown = try await kernel.agentctlAsync("feedback", "999999", "up")
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "agentctl: no answer with request id 999999: rate answers from `agentctl send --wait` while the kernel that gave them runs\n")

        // A message sent without --wait has no answer to rate.
        let sent = try await kernel.client.send("echo", SendRequest(text: "fire and forget"))
        await expectAPIError("not_found", status: 404) {
            try await kernel.client.rate(FeedbackRequest(requestId: sent.messageId, rating: .up))
        }
        let answered = try await kernel.client.send("echo", SendRequest(text: "hi", wait: true, timeoutMs: 10_000))
        let sideways = try await kernel.client.raw(.POST, "/v1/feedback", body: Data(#"{"request_id":\#(answered.messageId),"rating":"sideways"}"#.utf8))
        #expect(sideways.status == 400)
        #expect(String(decoding: sideways.body, as: UTF8.self).contains("rating must be up or down, not sideways"))
        #expect(try await kernel.agentctlAsync("feedback", "\(answered.messageId)", "sideways").status == 2)
        #expect(try await kernel.agentctlAsync("feedback", "stats", "--since", "a week").status == 2)
        #expect(try await Self.stats(kernel).agents.isEmpty, "nothing was recorded")
        try await kernel.expectHealthy()
    }

    @Test func ratingsOutliveTheKernelThatRecordedThem() async throws {
        let first = try await KernelProcess()
        try await first.load("echo")
        let answer = try await first.client.send("echo", SendRequest(text: "remember me", wait: true, timeoutMs: 10_000))
        _ = try await first.client.rate(FeedbackRequest(requestId: answer.messageId, rating: .up, comment: "kept"))
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)

        let second = try await KernelProcess(root: first.root)
        defer { second.stop() }
        let lines = try await Self.exported(second)
        #expect(lines.count == 1 && lines.first?["question"] as? String == "remember me" && lines.first?["comment"] as? String == "kept")
        // The new kernel's answers are its own: the old request id names nothing it gave.
        await expectAPIError("not_found", status: 404) {
            try await second.client.rate(FeedbackRequest(requestId: answer.messageId + 1_000, rating: .down))
        }
    }

    @Test func aCorruptFeedbackDatabaseDisablesFeedbackNotTheKernel() async throws {
        let root = KernelProcess.newRoot()
        let homePath = root + "/home"
        try FileManager.default.createDirectory(atPath: homePath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: homePath + "/feedback.sqlite"))

        let kernel = try await KernelProcess(root: root)
        defer { kernel.stop() }
        let path = kernel.home.feedbackDatabasePath
        let reason = "feedback database \(path) is corrupt (file is not a database): move it aside and restart the kernel to start an empty one"
        #expect(kernel.log().contains("feedback disabled: \(reason)"), "\(kernel.log())")

        try await kernel.load("echo")
        let send = try await kernel.agentctlAsync("send", "echo", "still answering?", "--wait")
        #expect(send.status == 0, "\(send.stderr)")
        #expect(send.stdout == "still answering?\n")
        let id = try #require(Self.requestID(send.stderr))

        let rate = try await kernel.agentctlAsync("feedback", "\(id)", "up")
        #expect(rate.status == 1)
        #expect(rate.stderr == "agentctl: feedback is disabled: \(reason)\n")
        for (method, route) in [("POST", "/v1/feedback"), ("GET", "/v1/feedback/stats"), ("GET", "/v1/feedback/export")] {
            let body = method == "POST" ? Data(#"{"request_id":\#(id),"rating":"up"}"#.utf8) : nil
            let answer = try await kernel.client.raw(method == "POST" ? .POST : .GET, route, body: body)
            #expect(answer.status == 503, "\(route)")
            let error = try ControlJSON.decoder().decode(ErrorBody.self, from: answer.body)
            #expect(error.error == .init(code: ErrorCode.feedbackUnavailable.rawValue, message: "feedback is disabled: \(reason)"))
        }
        let export = try await kernel.agentctlAsync("feedback", "export")
        #expect(export.status == 1 && export.stdout.isEmpty)
        try await kernel.expectHealthy()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 0x5A, count: 4096), "the bad file is left as it was")
    }
}
