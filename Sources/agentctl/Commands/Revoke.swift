import ArgumentParser
import ControlAPI

/// `agentctl revoke NAME CAP...`: take capabilities from a running instance.
struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke capabilities from a running instance.",
        discussion: """
            Revoking a capability also revokes every narrower one it covers \
            (tool:catalog.* takes tool:catalog.lookup_product too). Calls \
            already past their check finish; the next check sees the change. \
            Each revoke is audited. Revoking what the instance does not hold \
            is an error (exit 1) naming any wider grant that covers it; the \
            revokes before it stay. Prints the instance's capabilities, as \
            `agentctl caps` does.

            Examples:
              agentctl revoke support 'tool:catalog.*'
            """
    )

    @Argument(help: "The instance's name.")
    var name: String

    @Argument(help: ArgumentHelp("Capabilities: infer, kv, admin, tool:GLOB, send:GLOB.", valueName: "capability"))
    var capabilities: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        try await Caps.change(name, capabilities, output) { CapabilityChange(revoke: $0) }
    }
}
