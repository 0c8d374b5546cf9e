import Foundation
import KernelCore
import StrictJSON

/// Converts a JSON Schema (as JSON text) into a GBNF grammar whose root rule is `root`,
/// so llama.cpp's grammar sampler lets a model write only JSON the schema accepts.
///
/// Covers what agents' schemas use, much like llama.cpp's json-schema-to-grammar and
/// OpenAI structured outputs: `type` (object, string, integer, number, boolean, null,
/// array, or a list of these), `properties`, `required`, `additionalProperties` (false or
/// true), `items`, `minItems`/`maxItems`, `minLength`/`maxLength`, `enum` and `const` of
/// scalars, `anyOf`/`oneOf`, and local `$ref`s such as `#/$defs/Name`. Properties come in
/// declaration order, required ones first. Where a schema has several of `$ref`, `const`,
/// `enum`, `anyOf`/`oneOf` and `type`, the first of these wins. Annotations (title,
/// description, …) are ignored; keywords that constrain in ways the grammar cannot follow
/// (pattern, format, minimum, not, …) are refused rather than ignored.
public enum JSONSchemaGrammar {
    /// Throws `.invalidSchema` with one line naming the problem and its JSON pointer:
    /// text that is not JSON, a top level that is not an object schema, an unsupported
    /// keyword or type, a malformed value, or a `$ref` that does not resolve.
    public static func grammar(fromSchema json: String) throws(KernelError) -> String {
        var converter = Converter(document: try parse(json))
        return try converter.grammar()
    }

    /// The largest count written as a repetition. llama.cpp expands `x{m,n}` into n rules,
    /// refuses minima above 2000 and ignores maxima above 2000, so schemas' bounds are kept
    /// below that: larger maxLength/maxItems are lowered to this (the grammar then allows
    /// fewer values, all still valid) and larger minLength/minItems are refused.
    static let maxRepetition = 1000

    private static func parse(_ json: String) throws(KernelError) -> JSONValue {
        do {
            return try JSONParser.parse(json)
        } catch {
            throw KernelError(.invalidSchema, "the schema is not valid JSON: \(error)")
        }
    }
}

/// The rules a grammar can need whatever the schema; `value` is any JSON value.
private enum Primitive: String {
    case char, string, integralPart = "integral-part", decimalPart = "decimal-part"
    case integer, number, boolean, null, value
}

/// Walks a schema document, adding a rule for each part worth naming.
private struct Converter {
    let document: JSONValue
    var rules = GBNFRuleSet()
    var primitiveNames: [Primitive: String] = [:]
    var referenceNames: [String: String] = [:]

    /// Keywords that constrain values in ways this converter does not express.
    static let refused: Set<String> = [
        "pattern", "format", "patternProperties", "propertyNames", "if", "then", "else", "not", "allOf",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minProperties",
        "maxProperties", "dependentRequired", "dependentSchemas", "dependencies", "uniqueItems", "contains",
        "minContains", "maxContains", "prefixItems", "additionalItems", "unevaluatedProperties",
        "unevaluatedItems", "$dynamicRef", "$recursiveRef",
    ]

    init(document: JSONValue) {
        self.document = document
        // Bounded, so a model cannot loop on whitespace forever.
        _ = rules.add("space", #"| " " | "\n" [ \t]{0,20}"#)
        referenceNames["#"] = rules.reserve("root")
    }

    mutating func grammar() throws(KernelError) -> String {
        var top = (schema: document, path: "")
        var followed: Set<String> = []
        while let reference = top.schema["$ref"] {
            guard case .string(let target) = reference, followed.insert(target).inserted else {
                throw fail(top.path, "$ref must be a string and not lead back to itself")
            }
            top = try resolve(target, from: top.path)
        }
        guard case .string("object")? = top.schema["type"] else {
            throw fail(top.path, #"the top level must be an object schema ("type": "object")"#)
        }
        rules.define("root", try body(for: document, at: "", name: "root"))
        return rules.text
    }

    /// A GBNF expression for `schema`; the rules it uses are named after `name`.
    private mutating func body(for schema: JSONValue, at path: String, name: String) throws(KernelError) -> String {
        switch schema {
        case .bool(true): return primitive(.value)
        case .object(let members):
            if let keyword = members.map(\.key).first(where: Self.refused.contains) {
                throw fail(path, "keyword \"\(keyword)\" is not supported")
            }
        default: throw fail(path, "a schema must be a JSON object (or true)")
        }
        if let reference = schema["$ref"] {
            guard case .string(let target) = reference else { throw fail(path, "$ref must be a string") }
            return try self.reference(target, from: path)
        }
        if let constant = schema["const"] { return try literal(constant, at: path + "/const") + " space" }
        if let options = schema["enum"] {
            guard case .array(let values) = options, !values.isEmpty else { throw fail(path, "enum must be a non-empty array") }
            var literals: [String] = []
            for (index, value) in values.enumerated() { literals.append(try literal(value, at: "\(path)/enum/\(index)")) }
            return "(" + literals.joined(separator: " | ") + ") space"
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let options = schema[keyword] else { continue }
            guard case .array(let alternatives) = options, !alternatives.isEmpty else {
                throw fail(path, "\(keyword) must be a non-empty array of schemas")
            }
            var expressions: [String] = []
            for (index, alternative) in alternatives.enumerated() {
                expressions.append(try expression(for: alternative, at: "\(path)/\(keyword)/\(index)", name: "\(name)-\(index)"))
            }
            return "(" + expressions.joined(separator: " | ") + ")"
        }
        switch schema["type"] {
        case .string(let type)?:
            return try typed(type, schema, at: path, name: name)
        case .array(let types)? where !types.isEmpty:
            var expressions: [String] = []
            for case .string(let type) in types {
                expressions.append(named(try typed(type, schema, at: path, name: "\(name)-\(type)"), "\(name)-\(type)"))
            }
            guard expressions.count == types.count else { throw fail(path, "type lists must hold type names") }
            return "(" + expressions.joined(separator: " | ") + ")"
        case nil where schema["properties"] != nil:
            return try typed("object", schema, at: path, name: name)
        case nil where schema["items"] != nil:
            return try typed("array", schema, at: path, name: name)
        case nil:
            return primitive(.value)
        default:
            throw fail(path, "type must be a type name or a non-empty list of them")
        }
    }

    /// `schema` as a rule name: its own rule unless its body already is a single name.
    private mutating func expression(for schema: JSONValue, at path: String, name: String) throws(KernelError) -> String {
        named(try body(for: schema, at: path, name: name), name)
    }

    private mutating func named(_ body: String, _ name: String) -> String {
        body.allSatisfy(GBNFRuleSet.isNameCharacter) ? body : rules.add(name, body)
    }

    private mutating func typed(_ type: String, _ schema: JSONValue, at path: String, name: String) throws(KernelError) -> String {
        switch type {
        case "object": return try object(schema, at: path, name: name)
        case "array": return try array(schema, at: path, name: name)
        case "string":
            let (minimum, maximum) = try bounds("minLength", "maxLength", in: schema, at: path)
            if minimum == 0 && maximum == nil { return primitive(.string) }
            return #""\"" \#(repeated(primitive(.char), minimum, maximum)) "\"" space"#
        case "integer": return primitive(.integer)
        case "number": return primitive(.number)
        case "boolean": return primitive(.boolean)
        case "null": return primitive(.null)
        default: throw fail(path, "unsupported type \"\(type)\"")
        }
    }

    /// Required properties in declaration order, then each optional one, also in order.
    private mutating func object(_ schema: JSONValue, at path: String, name: String) throws(KernelError) -> String {
        guard case .object(let properties) = schema["properties"] ?? .object([]) else { throw fail(path, "properties must be an object") }
        guard case .array(let list) = schema["required"] ?? .array([]) else { throw fail(path, "required must be an array of names") }
        var required: Set<String> = []
        for item in list {
            guard case .string(let key) = item else { throw fail(path, "required must be an array of names") }
            guard properties.contains(where: { $0.key == key }) else { throw fail(path, "required property \"\(key)\" is not in properties") }
            required.insert(key)
        }
        switch schema["additionalProperties"] {
        case nil, .bool?: break
        default: throw fail(path, "additionalProperties must be false or true (schemas for extra properties are not supported)")
        }
        var mandatory: [String] = [], optional: [String] = []
        for (key, property) in properties {
            let child = name == "root" ? key : "\(name)-\(key)"
            let value = try expression(for: property, at: "\(path)/properties/\(Self.pointerToken(key))", name: child)
            let pair = rules.add(child + "-kv", #"\#(Self.quoted(JSONValue.quoted(key))) space ":" space \#(value)"#)
            if required.contains(key) { mandatory.append(pair) } else { optional.append(pair) }
        }
        let members: String
        if !mandatory.isEmpty {
            members = (mandatory.joined(separator: #" "," space "#) + optional.map { #" ("," space \#($0))?"# }.joined())
        } else if !optional.isEmpty {
            // The first property present opens the object; any later ones may follow it.
            let starts = optional.indices.map { first in
                ([optional[first]] + optional[(first + 1)...].map { #"("," space \#($0))?"# }).joined(separator: " ")
            }
            members = "(" + starts.joined(separator: " | ") + ")?"
        } else {
            members = ""
        }
        return #""{" space \#(members.isEmpty ? "" : members + " ")"}" space"#
    }

    private mutating func array(_ schema: JSONValue, at path: String, name: String) throws(KernelError) -> String {
        let item = if let items = schema["items"] {
            try expression(for: items, at: path + "/items", name: name + "-item")
        } else {
            primitive(.value)
        }
        let (minimum, maximum) = try bounds("minItems", "maxItems", in: schema, at: path)
        if maximum == 0 { return #""[" space "]" space"# }
        let more = repeated(#"("," space \#(item))"#, max(minimum - 1, 0), maximum.map { $0 - 1 })
        let elements = [item, more].filter { !$0.isEmpty }.joined(separator: " ")
        return #""[" space \#(minimum == 0 ? "(\(elements))?" : elements) "]" space"#
    }

    /// A minimum and optional maximum count, checked and kept to `maxRepetition`.
    private func bounds(_ minimumKey: String, _ maximumKey: String, in schema: JSONValue, at path: String) throws(KernelError) -> (Int, Int?) {
        func count(_ key: String) throws(KernelError) -> Int? {
            guard let value = schema[key] else { return nil }
            guard let count = value.asInt, (0...1_000_000_000).contains(count) else {
                throw fail(path, "\(key) must be a non-negative integer")
            }
            return count
        }
        let minimum = try count(minimumKey) ?? 0
        let maximum = try count(maximumKey)
        if let maximum, maximum < minimum { throw fail(path, "\(minimumKey) is greater than \(maximumKey)") }
        guard minimum <= JSONSchemaGrammar.maxRepetition else {
            throw fail(path, "\(minimumKey) above \(JSONSchemaGrammar.maxRepetition) is not supported")
        }
        return (minimum, maximum.map { min($0, JSONSchemaGrammar.maxRepetition) })
    }

    /// `item` written `minimum` to `maximum` (nil: unbounded) times in GBNF.
    private func repeated(_ item: String, _ minimum: Int, _ maximum: Int?) -> String {
        switch (minimum, maximum) {
        case (0, 0?): ""
        case (1, 1?): item
        case (0, 1?): item + "?"
        case (0, nil): item + "*"
        case (1, nil): item + "+"
        case (_, nil): item + "{\(minimum),}"
        case (_, let maximum?) where maximum == minimum: item + "{\(minimum)}"
        case (_, let maximum?): item + "{\(minimum),\(maximum)}"
        }
    }

    private mutating func reference(_ target: String, from path: String) throws(KernelError) -> String {
        if let name = referenceNames[target] { return name }
        let (schema, targetPath) = try resolve(target, from: path)
        let name = rules.reserve(targetPath.split(separator: "/").last.map(String.init) ?? "ref")
        referenceNames[target] = name  // before the body, so recursive references end here
        rules.define(name, try body(for: schema, at: targetPath, name: name))
        return name
    }

    /// The schema a local `$ref` (`#`, then a JSON pointer) names, with its pointer.
    private func resolve(_ target: String, from path: String) throws(KernelError) -> (schema: JSONValue, path: String) {
        guard target == "#" || target.hasPrefix("#/") else {
            throw fail(path, "$ref \"\(target)\" is not supported (only local ones such as \"#/$defs/Name\")")
        }
        var schema = document
        let tokens = target == "#" ? [] : target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false)
        for token in tokens {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = schema[key] else { throw fail(path, "$ref \"\(target)\" does not resolve") }
            schema = next
        }
        return (schema, String(target.dropFirst()))
    }

    /// The GBNF literal matching the JSON text of a scalar. A number is written as
    /// StrictJSON writes it (`2.50` as `2.5`, `1e2` as `100`): the same value, spelled
    /// the way llama.cpp's json-schema-to-grammar spells it (json.dumps of the parsed value).
    private func literal(_ value: JSONValue, at path: String) throws(KernelError) -> String {
        switch value {
        case .string(let text): Self.quoted(JSONValue.quoted(text))
        case .integer, .unsigned, .number: Self.quoted(value.jsonText)
        case .bool(let flag): Self.quoted(flag ? "true" : "false")
        case .null: Self.quoted("null")
        case .array, .object: throw fail(path, "enum and const values must be strings, numbers, booleans or null")
        }
    }

    private mutating func primitive(_ primitive: Primitive) -> String {
        if let name = primitiveNames[primitive] { return name }
        let name = rules.reserve(primitive.rawValue)
        primitiveNames[primitive] = name
        let body = switch primitive {
        case .char: #"[^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#
        case .string: #""\"" \#(self.primitive(.char))* "\"" space"#
        case .integralPart: "[0] | [1-9] [0-9]{0,15}"
        case .decimalPart: "[0-9]{1,16}"
        case .integer: #""-"? \#(self.primitive(.integralPart)) space"#
        case .number:
            #""-"? \#(self.primitive(.integralPart)) ("." \#(self.primitive(.decimalPart)))? ([eE] [-+]? [0-9]{1,3})? space"#
        case .boolean: #"("true" | "false") space"#
        case .null: #""null" space"#
        case .value:
            [#""{" space (\#(self.primitive(.string)) ":" space \#(name) ("," space \#(self.primitive(.string)) ":" space \#(name))*)? "}" space"#,
             #""[" space (\#(name) ("," space \#(name))*)? "]" space"#,
             self.primitive(.string), self.primitive(.number), self.primitive(.boolean), self.primitive(.null)].joined(separator: " | ")
        }
        rules.define(name, body)
        return name
    }

    private func fail(_ path: String, _ problem: String) -> KernelError {
        KernelError(.invalidSchema, "schema at \(path.isEmpty ? "/" : path): \(problem)")
    }

    /// A GBNF string literal matching `text` exactly.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func pointerToken(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
