/// One check of an agent's answer, as a suite writes it:
///
/// ```yaml
/// - type: contains            # or not-contains, or negate: true
///   value: "229"
///   weight: 2                 # default 1
/// - type: tool-called
///   value: catalog.lookup_product
///   args: {sku: A-200}        # a subset of the call's arguments
/// ```
public struct Assertion: Sendable, Equatable, Decodable {
    /// What an assertion checks.
    public enum Kind: String, Sendable, CaseIterable {
        /// The answer contains `value`.
        case contains
        /// The answer contains `value`, ignoring case.
        case icontains
        /// The answer matches the regular expression `value` (ICU syntax) somewhere.
        case regex
        /// The answer, trimmed of surrounding whitespace, is `value`.
        case equals
        /// The answer parses as JSON.
        case isJSON = "is-json"
        /// The answer is JSON matching the schema `value`, shallowly: its type,
        /// its top-level `required` keys and its top-level properties' types.
        case jsonSchema = "json-schema"
        /// The agent's inference made a call of the tool `value` (or of one of
        /// a list of tools) whose arguments contain `args`; read from the traces.
        case toolCalled = "tool-called"
        /// The answer came within `value` milliseconds.
        case maxLatencyMs = "max-latency-ms"
        /// The answer's inference generated at most `value` tokens.
        case maxTokens = "max-tokens"

        /// Kinds that may also be written `not-KIND`.
        static let negatable: [Kind] = [.contains, .icontains, .regex, .equals, .isJSON, .toolCalled]

        /// Every type name a suite may write, in documentation order.
        public static let typeNames: [String] = allCases.map(\.rawValue) + negatable.map { "not-" + $0.rawValue }
    }

    public var kind: Kind
    /// Passes when the check fails (`negate: true`, or a `not-` type).
    public var negate: Bool
    /// Its share of the case's score (default 1).
    public var weight: Double
    public var value: SuiteValue?
    /// For tool-called: a subset of the call's arguments.
    public var args: SuiteValue?

    public init(_ kind: Kind, _ value: SuiteValue? = nil, args: SuiteValue? = nil, negate: Bool = false, weight: Double = 1) {
        self.kind = kind
        self.value = value
        self.args = args
        self.negate = negate
        self.weight = weight
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case type, value, args, negate, weight
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "an assertion")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        let prefixed = type.hasPrefix("not-")
        guard let kind = Kind(rawValue: prefixed ? String(type.dropFirst(4)) : type),
              !prefixed || Kind.negatable.contains(kind)
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unknown assertion type \"\(type)\" (known: \(Kind.typeNames.joined(separator: ", ")))")
        }
        let negate = try container.decodeIfPresent(Bool.self, forKey: .negate) ?? false
        if prefixed && negate {
            throw DecodingError.dataCorruptedError(
                forKey: .negate, in: container, debugDescription: "\(type) with negate: true negates twice (write \(kind.rawValue))")
        }
        self.kind = kind
        self.negate = prefixed || negate
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        guard weight >= 0, weight.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .weight, in: container, debugDescription: "weight must be a number ≥ 0")
        }
        value = try container.decodeIfPresent(SuiteValue.self, forKey: .value)
        args = try container.decodeIfPresent(SuiteValue.self, forKey: .args)
        if let problem = shapeProblem {
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: problem)
        }
    }

    /// What is wrong with the value's shape for this kind, before templates are filled.
    private var shapeProblem: String? {
        if args != nil && kind != .toolCalled { return "\(kind.rawValue) takes no args (only tool-called does)" }
        switch kind {
        case .contains, .icontains, .regex, .equals, .maxLatencyMs, .maxTokens:
            return value?.text == nil ? "\(kind.rawValue) needs a value (a string or a number)" : nil
        case .isJSON:
            return value == nil ? nil : "is-json takes no value (to check a shape, use json-schema)"
        case .jsonSchema:
            switch value {
            case .map?, .scalar?: return nil
            default: return "json-schema needs a value: a schema as a map, or as JSON text"
            }
        case .toolCalled:
            switch value {
            case .scalar?: break
            case .list(let names)? where !names.isEmpty && names.allSatisfy({ $0.text != nil }): break
            default: return "tool-called needs a value: a tool name, or a list of names"
            }
            if let args, case .map = args { return nil }
            return args == nil ? nil : "tool-called args must be a map of argument names to values"
        }
    }

    /// What is wrong with the filled-in value (a regex that does not compile,
    /// a limit that is not a number, a schema that is not JSON), or nil.
    func valueProblem() -> String? {
        switch kind {
        case .regex:
            do {
                _ = try Regex(value?.text ?? "")
                return nil
            } catch {
                return "regex \"\(value?.text ?? "")\" does not compile: \(error)"
            }
        case .maxLatencyMs, .maxTokens:
            guard let limit = Double(value?.text ?? ""), limit >= 0 else {
                return "\(kind.rawValue) needs a number ≥ 0, not \"\(value?.text ?? "")\""
            }
            return nil
        case .jsonSchema:
            do {
                _ = try SchemaCheck(value ?? .map([]))
                return nil
            } catch {
                return "json-schema: \(error)"
            }
        default:
            return nil
        }
    }

    /// The assertion with every `{{name}}` in its value and args filled in.
    func filled(with variables: [String: String]) -> Assertion {
        var filled = self
        filled.value = value?.filled(with: variables)
        filled.args = args?.filled(with: variables)
        return filled
    }

    /// Every variable name its value and args use.
    var variableNames: [String] {
        (value?.variableNames ?? []) + (args?.variableNames ?? [])
    }

    /// `contains`, or `not-contains` when negated.
    public var typeName: String {
        (negate ? "not-" : "") + kind.rawValue
    }

    /// How reports name it: `contains "229"`, `not tool-called catalog.check_stock {sku: A-101}`.
    public var summary: String {
        var text = (negate ? "not " : "") + kind.rawValue
        switch kind {
        case .contains, .icontains, .regex, .equals:
            text += " \"\(value?.text ?? "")\""
        case .isJSON:
            break
        case .jsonSchema:
            text += " " + (value?.compactText ?? "")
        case .toolCalled:
            text += " " + (value?.compactText ?? "") + (args.map { " " + $0.compactText } ?? "")
        case .maxLatencyMs, .maxTokens:
            text += " " + (value?.text ?? "")
        }
        return text
    }
}

/// Throws when the map `decoder` reads has a key not in `known`: a misspelt
/// key would otherwise be ignored in silence.
func rejectUnknownKeys(_ decoder: Decoder, known: [String], in what: String) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    for key in container.allKeys where !known.contains(key.stringValue) {
        throw DecodingError.dataCorrupted(.init(
            codingPath: decoder.codingPath + [key],
            debugDescription: "unknown key \"\(key.stringValue)\" in \(what) (known: \(known.joined(separator: ", ")))"))
    }
}
