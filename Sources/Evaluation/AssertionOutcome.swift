import Foundation
import StrictJSON

/// The verdict of one assertion on one run.
public struct AssertionOutcome: Sendable, Equatable {
    public var assertion: Assertion
    public var passed: Bool
    /// What was found, true or not: `the answer lacks "229"`,
    /// `latency 6120 ms > 5000`. On a failure, it says why.
    public var detail: String

    public init(assertion: Assertion, passed: Bool, detail: String) {
        self.assertion = assertion
        self.passed = passed
        self.detail = detail
    }
}

extension Assertion {
    /// Checks `observation`. A check that cannot be made (no trace for
    /// tool-called or max-tokens) fails, negated or not.
    public func evaluate(_ observation: Observation) -> AssertionOutcome {
        let (holds, detail) = check(observation)
        return AssertionOutcome(assertion: self, passed: holds.map { $0 != negate } ?? false, detail: detail)
    }

    /// Whether the plain (not negated) check holds, nil when it cannot be
    /// told, and what was found.
    private func check(_ observation: Observation) -> (Bool?, String) {
        let reply = observation.reply
        let expected = value?.text ?? ""
        switch kind {
        case .contains:
            let holds = reply.contains(expected)
            return (holds, "the answer \(holds ? "contains" : "lacks") \"\(expected)\"")
        case .icontains:
            let holds = reply.lowercased().contains(expected.lowercased())
            return (holds, "the answer \(holds ? "contains" : "lacks") \"\(expected)\" (any case)")
        case .regex:
            guard let regex = try? Regex(expected) else { return (nil, "regex \"\(expected)\" does not compile") }
            let holds = reply.contains(regex)
            return (holds, "the answer \(holds ? "matches" : "does not match") /\(expected)/")
        case .equals:
            let answer = reply.trimmingCharacters(in: .whitespacesAndNewlines)
            return answer == expected
                ? (true, "the answer is \"\(expected)\"")
                : (false, "the answer is \"\(Self.excerpt(answer))\", not \"\(expected)\"")
        case .isJSON:
            switch Self.parseJSON(reply) {
            case .success: return (true, "the answer is JSON")
            case .failure(let error): return (false, "the answer is not JSON (\(error))")
            }
        case .jsonSchema:
            guard let schema = try? SchemaCheck(value ?? .map([])) else { return (nil, "the schema is invalid") }
            switch Self.parseJSON(reply) {
            case .success(let json):
                let mismatch = schema.mismatch(json)
                return (mismatch == nil, mismatch ?? "the answer matches the schema")
            case .failure(let error):
                return (false, "the answer is not JSON (\(error))")
            }
        case .toolCalled:
            return checkToolCalls(observation.toolCalls)
        case .maxLatencyMs:
            let limit = Double(expected) ?? 0
            let holds = observation.latencyMs <= limit
            return (holds, String(format: "latency %.0f ms %@ %@", observation.latencyMs, holds ? "≤" : ">", expected))
        case .maxTokens:
            guard let tokens = observation.generatedTokens else { return (nil, "token count unknown (no trace of the inference)") }
            let holds = Double(tokens) <= Double(expected) ?? 0
            return (holds, "\(tokens) tokens generated, \(holds ? "≤" : ">") \(expected)")
        }
    }

    private func checkToolCalls(_ calls: [ToolCall]?) -> (Bool?, String) {
        guard let calls else { return (nil, "tool calls unknown (no trace of the inference)") }
        let names: [String] = switch value {
        case .list(let elements)?: elements.compactMap(\.text)
        default: [value?.text ?? ""]
        }
        let wanted = names.joined(separator: " or ") + (args.map { " with \($0.compactText)" } ?? "")
        if let call = calls.first(where: { call in
            names.contains(call.name) && (args.map { args in call.arguments.map(args.isSubset(of:)) ?? false } ?? true)
        }) {
            return (true, "called \(call.summary)")
        }
        let made = calls.isEmpty ? "no tool calls" : "calls: " + calls.map(\.summary).joined(separator: ", ")
        return (false, "no call of \(wanted) (\(made))")
    }

    private static func parseJSON(_ text: String) -> Result<JSONValue, JSONSyntaxError> {
        Result { () throws(JSONSyntaxError) in try JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// `text` cut to 80 characters for a message.
    static func excerpt(_ text: String) -> String {
        text.count <= 80 ? text : text.prefix(79) + "…"
    }
}
