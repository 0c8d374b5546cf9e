import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl ps`: list instances.
struct Ps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List plugin instances.",
        discussion: """
            Columns: NAME, ID (kernel-minted, never reused), STATE (loading, \
            running, stopping, stopped, failed, hung), PLUGIN (the file it was \
            loaded from), UPTIME, CPU (CPU time of the instance's thread), \
            IN and OUT (messages received and sent), MAILBOX (queued/limit), \
            INFER (inference requests, in flight), TOKENS (prompt/generated), \
            TTFT (mean time to first token), LAST ERROR.

            With -o json prints {"instances":[...]}, each instance with every \
            field the kernel knows (descriptor, capabilities, origin, load time), \
            and for live ones what they were granted and lack, their quotas \
            (as `agentctl quota` shows them) and CPU time.
            """
    )

    @Flag(name: .shortAndLong, help: "Show all instances, also stopped and failed ones (default: only live ones).")
    var all = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        let instances = try await ControlClient().instances(all: all)
        switch output {
        case .json:
            try printJSON(InstanceList(instances: instances))
        case .table:
            let header = ["NAME", "ID", "STATE", "PLUGIN", "UPTIME", "CPU", "IN", "OUT", "MAILBOX", "INFER", "TOKENS", "TTFT", "LAST ERROR"]
            printTable([header] + instances.map(Self.row))
        }
    }

    private static func row(_ instance: InstanceInfo) -> [String] {
        [
            instance.name, "\(instance.id)", instance.state, displayPath(instance.plugin),
            humanDuration(instance.uptimeSeconds), instance.cpuSeconds.map { String(format: "%.2fs", $0) } ?? "-",
            "\(instance.messagesIn)", "\(instance.messagesOut)",
            "\(instance.mailboxDepth)/\(instance.mailboxLimit)",
            instance.inference.map { "\($0.requests) (\($0.inFlight))" } ?? "-",
            instance.inference.map { "\($0.promptTokens)/\($0.completionTokens)" } ?? "-",
            instance.inference.map { String(format: "%.0fms", $0.meanTimeToFirstTokenMs) } ?? "-",
            instance.lastError ?? "-",
        ]
    }
}
