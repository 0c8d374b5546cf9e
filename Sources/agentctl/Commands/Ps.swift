import ArgumentParser
import ControlAPI
import ControlClient
import StrictJSON

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
            TTFT (mean time to first token), MODE (thread, or process and the \
            pid of its agentos-host), RESTARTS (hosts restarted after a crash), \
            LAST ERROR (a crash names its signal, address and plugin symbol).

            With -o json prints {"instances":[...]}: per instance name, id, \
            state, plugin, origin, uptime_seconds, cpu_seconds, messages_in, \
            messages_out, mailbox_depth, mailbox_limit, senders_waiting (senders \
            blocked on its full mailbox), last_error, inference (requests, \
            tokens, cancellations, mean queue, first-token and decode times), \
            isolation and host (pid, restarts, crashes, last_crash; null in \
            thread mode). \
            Every key is always there, null where it does not apply.

            An instance's grants: `agentctl caps NAME`; its quotas: `agentctl \
            quota NAME`; everything the kernel knows of it (descriptor, load \
            time, grants, quotas): GET /v1/instances/NAME on the control socket.

            With --cluster: every node's running agents, as the nodes announce \
            them (NODE, NAME, ADDRESS); -o json prints the ClusterInfo.
            """
    )

    @Flag(name: .shortAndLong, help: "Show all instances, also stopped and failed ones (default: only live ones).")
    var all = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    @Flag(name: .long, help: "List every node's agents, with a NODE column (the kernel must be in a cluster).")
    var cluster = false

    func run() async throws {
        if cluster { return try await runCluster() }
        let instances = try await ControlClient().instances(all: all)
        switch output {
        case .json:
            var writer = JSONWriter(style: .pretty)
            InstanceList(instances: instances).write(to: &writer)
            print(String(decoding: writer.bytes, as: UTF8.self))
        case .table:
            let header = ["NAME", "ID", "STATE", "PLUGIN", "UPTIME", "CPU", "IN", "OUT", "MAILBOX", "INFER", "TOKENS", "TTFT", "MODE", "RESTARTS", "LAST ERROR"]
            printTable([header] + instances.map(Self.row))
        }
    }

    private func runCluster() async throws {
        let info = try await ControlClient().cluster()
        guard info.node != nil else {
            printError("agentctl: the kernel is not in a cluster (start agentosd with --cluster nats://HOST:PORT --node NAME)")
            throw ExitCode.failure
        }
        switch output {
        case .json: try printJSON(info)
        case .table:
            let rows = info.nodes.flatMap { node in node.agents.map { [node.name, $0, "\($0)@\(node.name)"] } }
            printTable([["NODE", "NAME", "ADDRESS"]] + rows)
        }
    }

    private static func row(_ instance: InstanceRow) -> [String] {
        [
            instance.name, "\(instance.id)", instance.state, displayPath(instance.plugin),
            humanDuration(instance.uptimeSeconds), instance.cpuSeconds.map { decimal($0, places: 2) + "s" } ?? "-",
            "\(instance.messagesIn)", "\(instance.messagesOut)",
            "\(instance.mailboxDepth)/\(instance.mailboxLimit)",
            instance.inference.map { "\($0.requests) (\($0.inFlight))" } ?? "-",
            instance.inference.map { "\($0.promptTokens)/\($0.completionTokens)" } ?? "-",
            instance.inference.map { decimal($0.meanTimeToFirstTokenMs, places: 0) + "ms" } ?? "-",
            instance.host.map { host in host.pid.map { "process \($0)" } ?? "process -" } ?? instance.isolation,
            instance.host.map { "\($0.restarts)" } ?? "-",
            instance.lastError ?? "-",
        ]
    }
}
