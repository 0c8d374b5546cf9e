import Foundation

import StrictJSON

/// What one run of a case saw: the agent's answer and what the kernel's
/// traces tell about the inference behind it.
public struct Observation: Sendable, Equatable {
    /// The reply text ("" when the run failed before one came).
    public var reply: String
    /// From sending the message to the reply, as the kernel measured it.
    public var latencyMs: Double
    /// The inference requests behind the answer.
    public var inferenceRequests: [UInt64]
    /// The tool calls of those requests, in order; nil when a trace was unavailable.
    public var toolCalls: [ToolCall]?
    /// Prompt tokens over every model turn; nil when a trace was unavailable.
    public var promptTokens: Int?
    /// Generated tokens over every model turn; nil when a trace was unavailable.
    public var generatedTokens: Int?
    /// Why no answer came (the case's own failure: a timeout, a failed handler).
    public var failure: String?

    public init(
        reply: String, latencyMs: Double, inferenceRequests: [UInt64] = [], toolCalls: [ToolCall]? = [],
        promptTokens: Int? = nil, generatedTokens: Int? = nil, failure: String? = nil
    ) {
        self.reply = reply
        self.latencyMs = latencyMs
        self.inferenceRequests = inferenceRequests
        self.toolCalls = toolCalls
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.failure = failure
    }
}

/// One tool call of a tool loop, as its trace event tells it.
public struct ToolCall: Sendable, Equatable {
    /// The tool's full name: `catalog.lookup_product`.
    public var name: String
    /// The arguments as the model wrote them (the kernel keeps 200 bytes).
    public var argumentsText: String
    /// The arguments parsed; nil when cut short or not JSON.
    public var arguments: JSONValue?
    /// The call failed (the tool's error, or the kernel refused to repeat it);
    /// the model still made it.
    public var failed: Bool

    public init(name: String, argumentsText: String, failed: Bool = false) {
        self.name = name
        self.argumentsText = argumentsText
        self.failed = failed
        arguments = try? JSONParser.parse(argumentsText)
    }

    /// Reads a `tool` trace event's detail: `NAME(ARGS) → RESULT` or
    /// `NAME(ARGS) failed: CODE: MESSAGE`; nil when it is neither.
    public init?(traceDetail detail: String) {
        guard let open = detail.firstIndex(of: "(") else { return nil }
        let rest = detail[detail.index(after: open)...]
        let arguments: Substring
        if let end = Self.endOfJSONObject(rest), rest[end...].hasPrefix(")") {
            arguments = rest[..<end]
        } else if let close = rest.range(of: ") → ") ?? rest.range(of: ") failed: ") {
            arguments = rest[..<close.lowerBound]
        } else {
            return nil
        }
        let failed = rest[arguments.endIndex...].hasPrefix(") failed: ")
        self.init(name: String(detail[..<open]), argumentsText: String(arguments), failed: failed)
    }

    /// The index just past the JSON object `text` starts with, or nil when it
    /// starts with none or the object is cut short.
    private static func endOfJSONObject(_ text: Substring) -> Substring.Index? {
        guard text.first == "{" else { return nil }
        var depth = 0
        var inString = false
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                continue
            }
            switch character {
            case "\"": inString = true
            case "{", "[": depth += 1
            case "}", "]":
                depth -= 1
                if depth == 0 { return text.index(after: index) }
            default: break
            }
        }
        return nil
    }

    /// `catalog.lookup_product({"sku":"A-200"})`, with ` failed` after a failed call.
    public var summary: String { "\(name)(\(argumentsText))" + (failed ? " failed" : "") }
}
