import ArgumentParser
import ControlAPI
import ControlClient
import Foundation
import StrictJSON

/// `agentctl tools`: the tools of the loaded tool plugins.
struct Tools: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the loaded tools and their signatures.",
        discussion: """
            A tool is a C function a tool plugin exports; its full name is \
            PLUGIN.TOOL. -o json prints them as OpenAI function tools, the shape \
            a model is offered: {"type": "function", "function": {"name", \
            "description", "parameters" (JSON Schema)}}, plus "needs_approval": \
            whether a call the model makes waits for `agentctl runs approve|reject` \
            (the APPROVAL column of the table).

            Examples:
              agentctl tools
              agentctl tools 'catalog.*' -o json
            """
    )

    @Argument(help: "Only tools whose name matches this glob, e.g. 'catalog.*'.")
    var pattern: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        let tools = try await ControlClient().tools(matching: pattern)
        switch output {
        case .json:
            print(JSONValue.array(tools.map(Self.openAIFunction)).prettyText)
        case .table:
            var rows = [["TOOL", "ARGUMENTS", "RETURNS", "APPROVAL", "CALLS", "FAILED", "MEAN", "DESCRIPTION"]]
            for tool in tools {
                rows.append([
                    tool.name, Self.signature(tool), tool.returns, tool.needsApproval ? "needed" : "-", "\(tool.calls)", "\(tool.failures)",
                    tool.calls == 0 ? "-" : String(format: "%.2fms", tool.meanMs), tool.description,
                ])
            }
            printTable(rows)
        }
    }

    /// {"type": "function", "function": {name, description, parameters}, "needs_approval": BOOL}.
    static func openAIFunction(_ tool: ToolInfo) -> JSONValue {
        .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string(tool.name)), ("description", .string(tool.description)),
                ("parameters", (try? JSONParser.parse(tool.parameters)) ?? .object([])),
            ])),
            ("needs_approval", .bool(tool.needsApproval)),
        ])
    }

    /// "sku: string, limit?: int32" from the parameters schema.
    static func signature(_ tool: ToolInfo) -> String {
        guard let schema = try? JSONParser.parse(tool.parameters), case .object(let properties)? = schema["properties"] else {
            return "{…}"
        }
        var required: Set<String> = []
        if case .array(let names)? = schema["required"] {
            for case .string(let name) in names { required.insert(name) }
        }
        return properties.map { property in
            let type: String = if case .string(let name)? = property.value["type"] { name } else { "any" }
            return property.key + (required.contains(property.key) ? "" : "?") + ": " + type
        }.joined(separator: ", ")
    }
}
