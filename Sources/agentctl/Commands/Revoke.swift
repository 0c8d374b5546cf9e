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

    @OptionGroup var change: CapabilityChangeArguments

    func run() async throws {
        try await change.apply { CapabilityChange(revoke: $0) }
    }
}
