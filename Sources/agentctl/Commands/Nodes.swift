import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl nodes`: the kernels in the cluster.
struct Nodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the nodes of the kernel's cluster.",
        discussion: """
            Columns: NODE (this kernel's marked with *), VERSION, AGENTS (how \
            many run there), ENGINE, LAST SEEN (since its last announcement; \
            nodes announce every second and are dropped after 3 s of silence). \
            -o json prints the ClusterInfo, with the link's state and the \
            frames the kernel rejected.
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        let info = try await ControlClient().cluster()
        guard info.node != nil else {
            printError("agentctl: the kernel is not in a cluster (start agentosd with --cluster nats://HOST:PORT --node NAME)")
            throw ExitCode.failure
        }
        switch output {
        case .json: try printJSON(info)
        case .table:
            let rows = info.nodes.map { node in
                [
                    node.name + (node.isSelf ? " *" : ""), node.version, "\(node.agents.count)", node.engine,
                    node.isSelf ? (info.linkUp ? "now (link up)" : "link down") : humanDuration(node.lastSeenSeconds) + " ago",
                ]
            }
            printTable([["NODE", "VERSION", "AGENTS", "ENGINE", "LAST SEEN"]] + rows)
        }
    }
}
