import ControlAPI
import Foundation
import Testing

/// Instance logs: malformed lines repaired, long ones cut, a bounded ring,
/// `--tail`, JSON Lines, and `-f` that ends when the instance is unloaded.
@Suite(.serialized) struct LogTests {
    @Test func invalidUTF8IsReplacedWithReplacementCharacters() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("logspam")
        #expect(try await kernel.ask("logspam", "2") == "ok")
        let texts = try await logTexts(kernel, "logspam")
        #expect(texts.contains("logspam: invalid UTF-8 follows: \u{FFFD}\u{FFFD} (end)"), "\(texts.map { $0.prefix(80) })")
        let table = try await kernel.agentctlAsync("logs", "logspam")
        #expect(table.stdout.contains("invalid UTF-8 follows: \u{FFFD}\u{FFFD} (end)\n"), "\(table.stdout.prefix(2000))")
        try await kernel.expectHealthy()
    }

    @Test func overlongLineIsCutAndMarked() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("logspam")
        #expect(try await kernel.ask("logspam", "0") == "ok")
        let long = try #require(try await logTexts(kernel, "logspam").first { $0.hasPrefix("logspam: long line ") })
        let mark = " …[cut 5904 bytes]"  // 10,000 bytes, 4,096 kept
        #expect(long.hasSuffix(mark), "\(long.suffix(40))")
        #expect(long.utf8.count == 4096 + mark.utf8.count)
        #expect(long.dropLast(mark.count).allSatisfy { $0 != "\u{FFFD}" })
        try await kernel.expectHealthy()
    }

    @Test func tailPrintsTheLastLines() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("logspam")
        #expect(try await kernel.ask("logspam", "5") == "ok")
        let tail = try await kernel.agentctlAsync("logs", "logspam", "--tail", "3")
        #expect(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 3, "\(tail.stdout.prefix(500))")
        #expect(lines.first?.hasSuffix("logspam: line 5 of 5") == true, "\(lines.first ?? "")")
        #expect(lines.dropFirst().first?.contains("invalid UTF-8 follows") == true)
        #expect(lines.last?.contains("logspam: long line yyy") == true)
        let none = try await kernel.agentctlAsync("logs", "logspam", "--tail", "0")
        #expect(none.status == 0 && none.stdout.isEmpty, "\(none.stdout)\(none.stderr)")
    }

    @Test func logLineShowsTimeLevelSourceAndText() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        _ = try await kernel.client.send("echo", SendRequest(text: "hello log"))
        #expect(try await kernel.eventually { try await logTexts(kernel, "echo").contains("echo: hello log") })
        let logs = try await kernel.agentctlAsync("logs", "echo")
        let line = try #require(logs.stdout.split(separator: "\n").last)
        #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ info  plugin  echo: hello log/) != nil, "\(line)")
    }

    @Test func jsonLogsAreOneObjectPerLine() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("logspam")
        #expect(try await kernel.ask("logspam", "3") == "ok")
        let json = try await kernel.agentctlAsync("logs", "logspam", "-o", "json")
        #expect(json.status == 0, "\(json.stderr)")
        let entries = try json.stdout.split(separator: "\n").map { try ControlJSON.decoder().decode(LogEntry.self, from: Data($0.utf8)) }
        #expect(entries.count == 6, "loaded, 3 lines, the invalid one, the long one")
        #expect(entries.map(\.seq) == Array(1...6))
        #expect(entries.first?.source == "kernel" && entries.last?.source == "plugin")
        #expect(entries.dropFirst().allSatisfy { $0.level == "info" })
    }

    @Test func logKeepsTheNewestLinesUpToItsCapacity() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("logspam")
        #expect(try await kernel.ask("logspam", "2000") == "ok")
        let texts = try await logTexts(kernel, "logspam")
        #expect(texts.count == 1000)
        // 2,003 lines were written (loaded, 2,000, invalid, long): the oldest 1,003 are gone.
        #expect(texts.first == "logspam: line 1003 of 2000")
        #expect(texts.last?.hasPrefix("logspam: long line") == true)
    }

    @Test func followEndsByItselfWhenTheInstanceIsUnloaded() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let follow = try kernel.startAgentctl(["logs", "echo", "-f"])
        #expect(try await kernel.eventually { follow.stdout.contains("loaded from") }, "\(follow.stderr)")
        _ = try await kernel.client.send("echo", SendRequest(text: "while following"))
        #expect(try await kernel.eventually { follow.stdout.contains("echo: while following") }, "lines arrive as they are logged")
        #expect(try await kernel.client.unload("echo").state == "stopped")
        let result = await follow.finish(timeout: 10)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("kernel  unloading"), "\(result.stdout)")
        #expect(result.stdout.hasSuffix("kernel  stopped; library closed\n"), "\(result.stdout)")
    }

    @Test func followOfAnUnloadedInstancePrintsItsLogAndEnds() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        _ = try await kernel.client.unload("echo")
        let result = try await kernel.agentctlAsync("logs", "echo", "-f", timeout: 10)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasSuffix("stopped; library closed\n"), "\(result.stdout)")
    }

    @Test func logsOfUnknownInstanceExitOne() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for arguments in [["logs", "ghost"], ["logs", "ghost", "-f"]] {
            let result = try await kernel.startAgentctl(arguments).finish(timeout: 10)
            #expect(result.status == 1)
            #expect(result.stderr == "agentctl: no instance named ghost (see `agentctl ps -a`)\n")
        }
        try await kernel.expectHealthy()
    }

    /// The texts of `name`'s log, oldest first.
    private func logTexts(_ kernel: KernelProcess, _ name: String) async throws -> [String] {
        var texts: [String] = []
        for try await entry in kernel.client.logs(name) { texts.append(entry.text) }
        return texts
    }
}
