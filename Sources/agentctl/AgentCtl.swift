import ArgumentParser

/// `agentctl`: the command-line client of the AgentOS kernel.
@main
struct AgentCtl: AsyncParsableCommand {
    /// agentctl's own version, printed by `agentctl version` and `--version`.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "agentctl",
        abstract: "Manage the plugins running in an AgentOS kernel (agentosd).",
        discussion: """
            agentctl talks to the kernel over its control socket, \
            $AGENTOS_HOME/agentosd.sock (AGENTOS_HOME defaults to ./.agentos). \
            Results go to stdout, errors to stderr as one line starting with "agentctl:". \
            Commands that take -o json print stable, sorted-key JSON for scripts.

            Exit codes:
              0  success
              1  the kernel refused the request, or talking to it failed
              2  usage error (unknown flag, missing or invalid argument)
              3  the kernel is not running (start it with `make run`)
            """,
        version: version,
        subcommands: [
            Load.self, Unload.self, Reload.self, Ps.self, Top.self, Send.self, Logs.self, Infer.self, Trace.self, Tools.self,
            Call.self, Caps.self, Grant.self, Revoke.self, Quota.self, Audit.self, Engine.self, Feedback.self, Eval.self, Kv.self, Sessions.self, Runs.self,
            Crashes.self,
            New.self, Status.self, Version.self, Keys.self, Nodes.self, MCPCommand.self,
        ]
    )

    /// Parses and runs a command, ending with agentctl's exit codes (see `Failure`).
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            Failure.exit(error)
        }
    }
}
