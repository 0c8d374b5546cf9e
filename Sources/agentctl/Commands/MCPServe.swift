import ArgumentParser
import ControlClient
import MCP
import MCPTools

/// `agentctl mcp serve|add|ls|rm`: the kernel's tools over MCP, and external MCP servers' tools in the kernel.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the kernel's tools over MCP, or add external MCP servers' tools to the kernel.",
        subcommands: [Serve.self, AddServer.self, ListServers.self, RemoveServer.self]
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the kernel's tools as an MCP server on stdin and stdout.",
            discussion: """
                For MCP hosts that start their servers as commands. It speaks \
                newline-delimited JSON-RPC on stdin and stdout and calls the \
                kernel over its control socket, as the operator: every tool \
                matching --tools is offered, with its JSON Schema. A tool's own \
                error, and arguments that do not fit its signature, come back \
                as results with isError; an unknown or excluded tool is a \
                JSON-RPC error. It ends when stdin closes. Over HTTP, the same \
                tools are at /mcp on agentosd --api-addr, per API key.

                Example (an MCP host's configuration):
                  {"command": "agentctl", "args": ["mcp", "serve", "--tools", "calculator.*"],
                   "env": {"AGENTOS_HOME": "/srv/agentos"}}
                """
        )

        @Option(help: ArgumentHelp("Offer only the tools matching this glob.", valueName: "glob"))
        var tools: String = "*"

        @Option(help: "Seconds to wait for a tool that runs on its plugin's thread.")
        var timeout: Double = 30

        func validate() throws {
            guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600] seconds") }
            guard !tools.isEmpty else { throw ValidationError("--tools must not be empty (use '*' for every tool)") }
        }

        func run() async throws {
            let client = ControlClient()
            _ = try await client.version()  // fail now, with agentctl's message, when no kernel runs
            let source = ControlToolSource(client: client, pattern: tools, timeoutMs: UInt32(timeout * 1000))
            let server = await MCPToolServer.make(source: source, version: AgentCtl.version)
            try await server.start(transport: StdioTransport())
            await server.waitUntilCompleted()
        }
    }
}
