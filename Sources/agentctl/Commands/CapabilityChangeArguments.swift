import ArgumentParser
import ControlAPI
import ControlClient

/// The arguments of `grant` and `revoke`.
struct CapabilityChangeArguments: ParsableArguments {
    @Argument(help: "The instance's name.")
    var name: String

    @Argument(help: ArgumentHelp("Capabilities: infer, kv, admin, net, spawn, tool:GLOB, send:GLOB.", valueName: "capability"))
    var capabilities: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    /// One change per capability, in order. Prints the capabilities after the
    /// last that succeeded, then throws the first failure.
    func apply(_ make: (String) -> CapabilityChange) async throws {
        let client = ControlClient()
        var latest: CapabilitiesInfo?
        do {
            for capability in capabilities { latest = try await client.changeCapabilities(of: name, make(capability)) }
        } catch {
            if let latest { try Caps.show(latest, output) }
            throw error
        }
        if let latest { try Caps.show(latest, output) }
    }
}
