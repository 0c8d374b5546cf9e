import ArgumentParser
import ControlAPI
import ControlClient

extension MCPCommand {
    /// `agentctl mcp add NAME -- COMMAND ARGS...`
    struct AddServer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Register an external MCP server (stdio); its tools become kernel tools NAME.TOOL.",
            discussion: """
                The kernel starts COMMAND, speaks MCP with it on its stdin and \
                stdout, and offers each of its tools as NAME.TOOL, behind the same \
                tool:GLOB capabilities, quotas, audit and metrics as plugin tools \
                (agentctl tools, agentctl call, the tool loop). The server is \
                supervised: when it exits it is started again, after 1 s doubling \
                to 30 s. Its stderr goes to $AGENTOS_HOME/mcp/NAME.log; the \
                registration is kept in $AGENTOS_HOME/mcp-servers.json and started \
                again with the kernel. The command answers once the server listed \
                its tools, or fails saying why it did not start.

                Examples:
                  agentctl mcp add weather -- python3 weather_server.py
                  agentctl mcp add files -- npx -y @modelcontextprotocol/server-filesystem /srv/docs
                """
        )

        @Argument(help: "The server's name, the prefix of its tools (1 to 64 of A-Z a-z 0-9 _ -).")
        var name: String

        @Argument(parsing: .postTerminator, help: ArgumentHelp("The command that starts the server, after --.", valueName: "command"))
        var command: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("give the server's command after --, e.g. agentctl mcp add \(name) -- python3 server.py") }
        }

        func run() async throws {
            let info = try await ControlClient().addMCPServer(AddMCPServerRequest(name: name, command: command))
            switch output {
            case .json: try printJSON(info)
            case .table:
                print("added \(info.name) (pid \(info.pid.map(String.init) ?? "-")): \(info.tools.isEmpty ? "no tools" : info.tools.joined(separator: ", "))")
                for skipped in info.skipped { print("skipped \(skipped)") }
            }
        }
    }

    /// `agentctl mcp ls`
    struct ListServers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the external MCP servers and their state.")

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let servers = try await ControlClient().mcpServers()
            switch output {
            case .json: try printJSON(servers)
            case .table:
                var rows = [["NAME", "STATE", "PID", "TOOLS", "RESTARTS", "COMMAND", "LAST ERROR"]]
                for server in servers {
                    rows.append([
                        server.name, server.state, server.pid.map(String.init) ?? "-", "\(server.tools.count)", "\(server.restarts)",
                        server.command.joined(separator: " "), server.lastError ?? "-",
                    ])
                }
                printTable(rows)
            }
        }
    }

    /// `agentctl mcp rm NAME`
    struct RemoveServer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Stop an external MCP server and forget it; its tools are withdrawn.")

        @Argument(help: "The server's name.")
        var name: String

        func run() async throws {
            let info = try await ControlClient().removeMCPServer(name)
            print("removed \(info.name)")
        }
    }
}
