import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

extension MCPCommand {
    /// `agentctl mcp add NAME -- COMMAND ARGS...` or `agentctl mcp add NAME --url URL`
    struct AddServer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Register an external MCP server (stdio or Streamable HTTP); its tools become kernel tools NAME.TOOL.",
            usage: """
                agentctl mcp add <name> [--output <format>] -- <command> ...
                agentctl mcp add <name> --url <url> [--header <header> ...] [--output <format>]
                """,
            discussion: """
                With a command, the kernel starts it and speaks MCP with it on its \
                stdin and stdout; its stderr goes to $AGENTOS_HOME/mcp/NAME.log. \
                With --url, it speaks MCP's Streamable HTTP to that endpoint, \
                sending each --header with every request. Either way each of the \
                server's tools is offered as NAME.TOOL, behind the same tool:GLOB \
                capabilities, quotas, audit and metrics as plugin tools (agentctl \
                tools, agentctl call, the tool loop).

                The server is supervised: a process that exits is started again, \
                a URL that fails (an HTTP error, an idle ping unanswered for 10 s) \
                is connected again, after 1 s doubling to 30 s; meanwhile its \
                tools stay listed and calls fail unreachable. A call that times \
                out is cancelled (MCP's notifications/cancelled); a server that \
                then leaves a ping unanswered for 10 s is hung and is restarted. \
                The registration (headers included) is kept in \
                $AGENTOS_HOME/mcp-servers.json and started again with the kernel. \
                The command answers once the server listed its tools, or fails \
                saying why it did not start.

                Examples:
                  agentctl mcp add weather -- python3 weather_server.py
                  agentctl mcp add files -- npx -y @modelcontextprotocol/server-filesystem /srv/docs
                  agentctl mcp add docs --url http://127.0.0.1:8000/mcp --header 'Authorization: Bearer TOKEN'
                """
        )

        @Argument(help: "The server's name, the prefix of its tools (1 to 64 of A-Z a-z 0-9 _ -).")
        var name: String

        @Option(help: ArgumentHelp("A Streamable HTTP server's endpoint (http or https), in place of a command.", valueName: "url"))
        var url: String?

        @Option(name: .customLong("header"), help: ArgumentHelp("An HTTP header for --url, 'NAME: VALUE' (repeatable).", valueName: "header"))
        var headers: [String] = []

        @Argument(parsing: .postTerminator, help: ArgumentHelp("The command that starts the server, after --.", valueName: "command"))
        var command: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func validate() throws {
            if url == nil {
                guard !command.isEmpty else {
                    throw ValidationError("give the server's command after -- or its --url, e.g. agentctl mcp add \(name) -- python3 server.py")
                }
                guard headers.isEmpty else { throw ValidationError("--header goes with --url") }
            } else {
                guard command.isEmpty else { throw ValidationError("give the server's command after -- or its --url, not both") }
                _ = try parsedHeaders()
            }
        }

        /// The --header options as a dictionary; each must be NAME: VALUE.
        private func parsedHeaders() throws -> [String: String] {
            var parsed: [String: String] = [:]
            for header in headers {
                guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                    throw ValidationError("--header '\(header)' is not NAME: VALUE, e.g. --header 'Authorization: Bearer TOKEN'")
                }
                parsed[String(header[..<colon]).trimmingCharacters(in: .whitespaces)] =
                    String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
            return parsed
        }

        func run() async throws {
            let request = AddMCPServerRequest(
                name: name, command: command, url: url, headers: url == nil || headers.isEmpty ? nil : try parsedHeaders())
            let info = try await ControlClient().addMCPServer(request)
            switch output {
            case .json: try printJSON(info)
            case .table:
                let at = info.url.map { "at \($0)" } ?? "pid \(info.pid.map(String.init) ?? "-")"
                print("added \(info.name) (\(at)): \(info.tools.isEmpty ? "no tools" : info.tools.joined(separator: ", "))")
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
                var rows = [["NAME", "STATE", "PID", "TOOLS", "RESTARTS", "COMMAND OR URL", "LAST ERROR"]]
                for server in servers {
                    rows.append([
                        server.name, server.state, server.pid.map(String.init) ?? "-", "\(server.tools.count)", "\(server.restarts)",
                        server.url ?? server.command.joined(separator: " "), server.lastError ?? "-",
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
