import ArgumentParser
import ControlAPI

/// `agentctl grant NAME CAP...`: give a running instance capabilities.
struct Grant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grant capabilities to a running instance.",
        discussion: """
            Each grant applies at once, is audited, and lasts until the \
            instance is unloaded (to grant at every load, name it in \
            $AGENTOS_HOME/policy.yaml). Granting what the instance already \
            holds, or a capability that does not parse, is an error (exit 1); \
            the grants before it stay. Prints the instance's capabilities, \
            as `agentctl caps` does.

            Examples:
              agentctl grant support infer 'tool:catalog.*'
              agentctl grant pinger send:echo
            """
    )

    @Argument(help: "The instance's name.")
    var name: String

    @Argument(help: ArgumentHelp("Capabilities: infer, kv, admin, tool:GLOB, send:GLOB.", valueName: "capability"))
    var capabilities: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        try await Caps.change(name, capabilities, output) { CapabilityChange(grant: $0) }
    }
}
