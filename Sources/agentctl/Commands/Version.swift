import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl version`: this client's version and, when it answers, the kernel's.
struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show agentctl's version and the running kernel's version and ABI.",
        discussion: """
            Succeeds (exit 0) even when no kernel is running: it then says so \
            instead of the kernel's version (in JSON, "kernel" is null).
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    /// The `-o json` shape: `{"agentctl":{"version":...},"kernel":{...}|null}`.
    private struct Report: Encodable {
        struct Client: Encodable { var version: String }
        var agentctl: Client
        var kernel: VersionInfo?

        private enum CodingKeys: String, CodingKey { case agentctl, kernel }

        /// Writes `"kernel": null` rather than leaving the key out.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(agentctl, forKey: .agentctl)
            try container.encode(kernel, forKey: .kernel)
        }
    }

    func run() async throws {
        let client = ControlClient()
        let kernel: VersionInfo?
        do {
            kernel = try await client.version()
        } catch ControlClientError.kernelNotRunning {
            kernel = nil
        }
        switch output {
        case .json:
            try printJSON(Report(agentctl: .init(version: AgentCtl.version), kernel: kernel))
        case .table:
            printTable([
                ["agentctl", AgentCtl.version],
                ["agentosd", kernel.map { "\($0.version) (ABI \($0.abiMajor).\($0.abiMinor))" }
                    ?? "not running at \(client.home.displaySocketPath)"],
            ])
        }
    }
}
