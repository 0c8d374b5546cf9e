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

    @OptionGroup var change: CapabilityChangeArguments

    func run() async throws {
        try await change.apply { CapabilityChange(grant: $0) }
    }
}
