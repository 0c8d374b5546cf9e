import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl caps NAME`: what an instance requests, holds and lacks.
struct Caps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the capabilities an instance requests, holds and lacks.",
        discussion: """
            A plugin holds only what it was granted (at load by \
            $AGENTOS_HOME/policy.yaml or `agentctl load --grant`, later by \
            `agentctl grant`); a syscall it lacks the capability for fails \
            with AOS_EPERM and is audited. MISSING lists what its descriptor \
            requests that no grant covers.

            Capabilities: infer, kv, admin, net, spawn, tool:GLOB (tools by full name, \
            e.g. tool:catalog.*), send:GLOB (agents by name, e.g. send:echo).

            Examples:
              agentctl caps support
              agentctl caps support -o json
            """
    )

    @Argument(help: "The instance's name.")
    var name: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        try Self.show(try await ControlClient().capabilities(of: name), output)
    }

    /// Prints `info` as `caps`, `grant` and `revoke` do.
    static func show(_ info: CapabilitiesInfo, _ output: OutputFormat) throws {
        switch output {
        case .json:
            try printJSON(info)
        case .table:
            func list(_ capabilities: [String]) -> String { capabilities.isEmpty ? "none" : capabilities.joined(separator: ", ") }
            let hint = info.missing.isEmpty ? "" : " (\(grantHint(info.agent, info.missing)))"
            printTable([
                ["REQUESTED", list(info.requested)],
                ["GRANTED", list(info.granted)],
                ["MISSING", list(info.missing) + hint],
            ])
        }
    }
}
