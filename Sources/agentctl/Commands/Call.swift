import ArgumentParser
import ControlAPI
import ControlClient
import StrictJSON

/// `agentctl call TOOL ARGS`: call one tool and print its result.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a tool with JSON arguments and print its result.",
        discussion: """
            The kernel checks the arguments against the tool's C signature \
            (types, ranges, required and unknown keys) before it calls the \
            function. A tool's own error exits 1 with its message.

            Examples:
              agentctl call calculator.multiply '{"a": 12.5, "b": 4}'
              agentctl call catalog.lookup_product '{"sku": "A-100"}'
              agentctl call clock.now
            """
    )

    @Argument(help: "The tool, PLUGIN.TOOL (see `agentctl tools`).")
    var tool: String

    @Argument(help: "The arguments as a JSON object (default {}).")
    var arguments: String?

    @Option(help: "Seconds to wait for a tool that runs on its plugin's thread.")
    var timeout: Double = 30

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format: the result alone, or it with its duration.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600] seconds") }
    }

    func run() async throws {
        let result = try await ControlClient().callTool(tool, arguments: arguments, timeoutMs: UInt32(timeout * 1000))
        switch output {
        case .json: try printJSON(result)
        case .table: print((try? JSONParser.parse(result.result).prettyText) ?? result.result)
        }
    }
}
