import Foundation
import KernelCore
import StrictJSON

/// Tools on the chat-completions wire, the OpenAI way: offered as `tools` with
/// a `tool_choice`, earlier calls and their results sent back as an assistant
/// turn's `tool_calls` and "tool" turns, and the model's calls read from the
/// `delta.tool_calls` fragments of the stream.
enum OpenAITools {
    /// Kernel tool names and the names on the wire. OpenAI allows only
    /// `^[a-zA-Z0-9_-]{1,64}$`, so "catalog.lookup_product" goes as
    /// "catalog__lookup_product"; a name that would then be over 64 characters
    /// or taken by another tool is cut and numbered ("…_2").
    struct Names: Sendable {
        private var wireNames: [String: String] = [:]  // kernel → wire
        private var kernelNames: [String: String] = [:]  // wire → kernel

        init(_ tools: [ToolDefinition]) {
            for tool in tools where wireNames[tool.name] == nil {
                let base = tool.name.replacingOccurrences(of: ".", with: "__")
                var wire = base
                var number = 1
                while wire.count > 64 || kernelNames[wire] != nil {
                    number += 1
                    wire = String(base.prefix(64 - "_\(number)".count)) + "_\(number)"
                }
                wireNames[tool.name] = wire
                kernelNames[wire] = tool.name
            }
        }

        /// The wire name of an offered tool; any other name (a call the model invented) unchanged.
        func wire(_ name: String) -> String { wireNames[name] ?? name }

        /// The kernel name of an offered tool's wire name; any other name unchanged, for the kernel to refuse.
        func kernel(_ name: String) -> String { kernelNames[name] ?? name }
    }

    /// The `tools` of a request body. Throws `.invalidSchema` naming a tool
    /// whose parameters are not a JSON object.
    static func definitions(_ tools: [ToolDefinition], names: Names) throws(KernelError) -> [JSONValue] {
        try tools.map { tool throws(KernelError) in
            guard let schema = OpenAIChat.jsonObject(tool.parameters) else {
                throw KernelError(.invalidSchema, "the parameters of tool \(tool.name) are not a JSON Schema object")
            }
            let function: JSONValue = .object([
                ("name", .string(names.wire(tool.name))), ("description", .string(tool.description)), ("parameters", schema),
            ])
            return .object([("type", .string("function")), ("function", function)])
        }
    }

    /// One turn of the chat in the OpenAI shape: an assistant turn that called
    /// tools carries them as `tool_calls` (its content null when empty), a
    /// "tool" turn the `tool_call_id` of the call it answers.
    static func message(_ message: ChatMessage, names: Names) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("role", .string(message.role)), ("content", .string(message.content))]
        if let calls = message.toolCalls, !calls.isEmpty {
            if message.content.isEmpty { members[1].value = .null }
            members.append(("tool_calls", .array(calls.map { call in
                let function: JSONValue = .object([("name", .string(names.wire(call.name))), ("arguments", .string(call.arguments))])
                return .object([("id", .string(call.id)), ("type", .string("function")), ("function", function)])
            })))
        }
        if let id = message.toolCallID { members.append(("tool_call_id", .string(id))) }
        return .object(members)
    }

    /// The calls of one streamed answer, put together from `delta.tool_calls`
    /// fragments: a call's first fragment (by `index`) brings its `id` and
    /// `function.name`, its `function.arguments` text arrives in pieces.
    struct Assembly {
        private struct Call {
            var index: Int?
            var id = ""
            var name = ""
            var arguments = ""
        }

        private let names: Names
        private let turn: Int
        private var calls: [Call] = []

        /// An empty assembly whose calls will be named as `names` says. A call
        /// the server gives no id is "call_<turn>_<n>", `turn` counting the
        /// chat's earlier turns that called tools (as the embedded engine names them).
        init(names: Names, turn: Int) {
            self.names = names
            self.turn = turn
        }

        /// Takes the `tool_calls` of one delta. A fragment without an `index`
        /// (servers that send each call whole) starts a call when it names a
        /// function, and continues the last one otherwise.
        mutating func take(_ fragments: [JSONValue]) {
            for fragment in fragments {
                let function = fragment["function"]
                let index = fragment["index"]?.asInt
                let name = function?["name"]?.asString ?? ""
                let known = if let index { calls.lastIndex(where: { $0.index == index }) } else { name.isEmpty ? calls.indices.last : nil }
                let position = known ?? calls.endIndex
                if known == nil { calls.append(Call(index: index)) }
                if calls[position].id.isEmpty, let id = fragment["id"]?.asString { calls[position].id = id }
                if calls[position].name.isEmpty { calls[position].name = name }
                calls[position].arguments += function?["arguments"]?.asString ?? ""
            }
        }

        /// The calls so far in order, named as the kernel names them; empty arguments are "{}".
        var requests: [ToolCallRequest] {
            calls.enumerated().map { number, call in
                ToolCallRequest(
                    id: call.id.isEmpty ? "call_\(turn)_\(number)" : call.id, name: names.kernel(call.name),
                    arguments: call.arguments.isEmpty ? "{}" : call.arguments)
            }
        }
    }
}
