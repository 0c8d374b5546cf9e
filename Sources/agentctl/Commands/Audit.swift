import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl audit`: the kernel's audit log.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit log: denied syscalls, grants and revokes.",
        discussion: """
            The kernel appends a record for every syscall refused for a \
            capability or quota, every capability granted (at load or with \
            `agentctl grant`) and every one revoked. Identical denials within \
            a second are written once; the next record of the same denial \
            says how many were left out (repeated N×). \
            Columns: TIME (UTC), AGENT, SYSCALL, CAPABILITY/QUOTA, DECISION \
            (deny, grant, revoke), REASON.

            With -o json, prints each record as one JSON object per line (JSON \
            Lines) with keys time, agent, syscall, capability, quota, decision, \
            reason and repeated (null when they do not apply).

            Examples:
              agentctl audit --since 10m
              agentctl audit --agent support -o json
            """
    )

    @Option(help: ArgumentHelp("Only this instance's records.", valueName: "name"))
    var agent: String?

    @Option(help: ArgumentHelp(
        "Only records since WHEN: a duration back from now (30s, 10m, 2h, 7d) or an RFC 3339 time.", valueName: "when"))
    var since: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format; json prints JSON Lines.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        if let since, SinceTime.date(since) == nil { throw ValidationError("--since must be \(SinceTime.accepted)") }
    }

    func run() async throws {
        let records = try await ControlClient().audit(agent: agent, since: since)
        switch output {
        case .json:
            let encoder = ControlJSON.encoder()
            for record in records { print(String(decoding: try encoder.encode(record), as: UTF8.self)) }
        case .table where records.isEmpty:
            let scope = (agent.map { " of \($0)" } ?? "") + (since.map { " since \($0)" } ?? "")
            print("no audit records\(scope)")
        case .table:
            printTable([["TIME", "AGENT", "SYSCALL", "CAPABILITY/QUOTA", "DECISION", "REASON"]] + records.map { record in
                [
                    record.time.formatted(.iso8601), record.agent ?? "-", record.syscall,
                    record.capability ?? record.quota ?? "-", record.decision,
                    record.reason + (record.repeated.map { " (repeated \($0)×)" } ?? ""),
                ]
            })
        }
    }
}
