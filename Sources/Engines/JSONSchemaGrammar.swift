import Foundation
import KernelCore

/// Converts a JSON Schema into a GBNF grammar (root rule `root`) that llama.cpp's
/// grammar sampler enforces, so a model can only produce JSON the schema accepts.
///
/// Supports what agents' schemas use: object (properties, required), string,
/// integer, number, boolean, null, array (items, minItems, maxItems), enum,
/// const, type lists, anyOf/oneOf and local `$ref`s. Required properties come
/// first, optional ones after them. Keywords that constrain in ways GBNF cannot
/// follow here (pattern, format, not, …) are refused rather than ignored.
public enum JSONSchemaGrammar {
    /// Throws `.invalidSchema` naming the problem and where in the schema it is.
    public static func grammar(fromSchema json: String) throws(KernelError) -> String {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        } catch {
            throw KernelError(.invalidSchema, "the JSON Schema is not valid JSON: \(error.localizedDescription)")
        }
        guard let schema = root as? [String: Any] else { throw KernelError(.invalidSchema, "the JSON Schema must be a JSON object") }
        var builder = Builder(document: schema)
        let resolved = try builder.resolve(schema, at: "")
        guard (resolved.schema["type"] as? String) == "object" || resolved.schema["properties"] != nil else {
            throw KernelError(.invalidSchema, "the schema must describe an object (\"type\": \"object\")")
        }
        let body = try builder.rule(for: schema, at: "", name: "value")
        return (["root ::= \(body) space"] + builder.rules.map { "\($0.key) ::= \($0.value)" }.sorted() + Builder.primitives)
            .joined(separator: "\n")
    }

    private struct Builder {
        let document: [String: Any]
        var rules: [String: String] = [:]

        static let primitives = [
            #"space ::= | " " | "\n" [ \t]{0,20}"#,
            #"string ::= "\"" char{0,512} "\"" space"#,
            #"char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#,
            #"integer ::= ("-"? ([0-9] | [1-9] [0-9]{1,15})) space"#,
            #"number ::= ("-"? ([0-9] | [1-9] [0-9]{1,15})) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? space"#,
            #"boolean ::= ("true" | "false") space"#,
            #"null ::= "null" space"#,
        ]
        static let ignored: Set<String> = ["title", "description", "examples", "default", "$schema", "$id", "$comment",
                                            "$defs", "definitions", "additionalProperties", "strict"]
        static let understood: Set<String> = ["type", "properties", "required", "items", "minItems", "maxItems",
                                               "enum", "const", "anyOf", "oneOf", "$ref", "minLength", "maxLength"]

        init(document: [String: Any]) { self.document = document }

        func fail(_ path: String, _ reason: String) -> KernelError {
            KernelError(.invalidSchema, "schema at \(path.isEmpty ? "/" : path): \(reason)")
        }

        /// Follows `$ref` chains to the schema they name.
        func resolve(_ schema: [String: Any], at path: String, depth: Int = 0) throws(KernelError) -> (schema: [String: Any], path: String) {
            guard let reference = schema["$ref"] as? String else { return (schema, path) }
            guard depth < 32 else { throw fail(path, "$ref chain too deep") }
            let parts = reference.split(separator: "/").map(String.init)
            guard parts.count == 3, parts[0] == "#", ["$defs", "definitions"].contains(parts[1]),
                  let table = document[parts[1]] as? [String: Any], let target = table[parts[2]] as? [String: Any] else {
                throw fail(path, "unresolvable $ref \"\(reference)\" (only #/$defs/NAME and #/definitions/NAME)")
            }
            return try resolve(target, at: "/\(parts[1])/\(parts[2])", depth: depth + 1)
        }

        /// A grammar expression for `schema`; named sub-rules go to `rules`.
        mutating func rule(for schema: [String: Any], at path: String, name: String) throws(KernelError) -> String {
            if let reference = schema["$ref"] as? String {
                let ruleName = "ref-" + Self.ruleName(reference)
                if rules[ruleName] == nil {
                    rules[ruleName] = "\"\""  // placeholder: lets recursive references terminate
                    let (target, targetPath) = try resolve(schema, at: path)
                    rules[ruleName] = try rule(for: target, at: targetPath, name: ruleName)
                }
                return ruleName
            }
            for key in schema.keys where !Self.ignored.contains(key) && !Self.understood.contains(key) {
                throw fail(path, "keyword \"\(key)\" is not supported")
            }
            if let constant = schema["const"] { return try literal(constant, at: path + "/const") }
            if let options = schema["enum"] {
                guard let values = options as? [Any], !values.isEmpty else { throw fail(path, "enum must be a non-empty array") }
                return "(" + (try values.enumerated().map { (index, value) throws(KernelError) in
                    try literal(value, at: "\(path)/enum/\(index)")
                }).joined(separator: " | ") + ")"
            }
            for keyword in ["anyOf", "oneOf"] {
                guard let options = schema[keyword] else { continue }
                guard let alternatives = options as? [[String: Any]], !alternatives.isEmpty else {
                    throw fail(path, "\(keyword) must be a non-empty array of schemas")
                }
                var expressions: [String] = []
                for (index, alternative) in alternatives.enumerated() {
                    expressions.append(try rule(for: alternative, at: "\(path)/\(keyword)/\(index)", name: "\(name)-\(index)"))
                }
                return "(" + expressions.joined(separator: " | ") + ")"
            }
            switch schema["type"] {
            case let types as [Any]:
                var expressions: [String] = []
                for (index, type) in types.enumerated() {
                    guard let type = type as? String else { throw fail(path, "type list entries must be strings") }
                    var single = schema
                    single["type"] = type
                    expressions.append(try rule(for: single, at: "\(path)/type/\(index)", name: "\(name)-\(type)"))
                }
                return "(" + expressions.joined(separator: " | ") + ")"
            case let type as String:
                return try typed(type, schema, at: path, name: name)
            case nil where schema["properties"] != nil:
                return try typed("object", schema, at: path, name: name)
            case nil:
                throw fail(path, "no type (give \"type\", \"enum\", \"const\", \"anyOf\" or \"$ref\")")
            default:
                throw fail(path, "type must be a string or a list of strings")
            }
        }

        private mutating func typed(_ type: String, _ schema: [String: Any], at path: String, name: String) throws(KernelError) -> String {
            switch type {
            case "string":
                let minimum = schema["minLength"] as? Int ?? 0
                let maximum = schema["maxLength"] as? Int ?? 512
                guard minimum >= 0, maximum >= minimum, maximum <= 4096 else { throw fail(path, "minLength/maxLength must satisfy 0 ≤ min ≤ max ≤ 4096") }
                if minimum == 0 && maximum == 512 { return "string" }
                return #""\"" char{\#(minimum),\#(maximum)} "\"" space"#
            case "integer", "number", "boolean", "null":
                return type
            case "array":
                let items = try (schema["items"] as? [String: Any]).map { (item) throws(KernelError) in
                    try rule(for: item, at: path + "/items", name: name + "-item")
                } ?? "value-any"
                if items == "value-any" { try addAnyValue() }
                let minimum = schema["minItems"] as? Int ?? 0
                let maximum = schema["maxItems"] as? Int ?? 64
                guard minimum >= 0, maximum >= minimum, maximum <= 1024 else { throw fail(path, "minItems/maxItems must satisfy 0 ≤ min ≤ max ≤ 1024") }
                let ruleName = name + "-array"
                if maximum == 0 {
                    rules[ruleName] = #""[" space "]" space"#
                } else if minimum == 0 {
                    rules[ruleName] = #""[" space (\#(items) ("," space \#(items)){0,\#(maximum - 1)})? "]" space"#
                } else {
                    rules[ruleName] = #""[" space \#(items) ("," space \#(items)){\#(minimum - 1),\#(maximum - 1)} "]" space"#
                }
                return ruleName
            case "object":
                let properties = schema["properties"] as? [String: Any] ?? [:]
                let required = Set(schema["required"] as? [String] ?? [])
                for key in required where properties[key] == nil { throw fail(path, "required property \"\(key)\" is not in properties") }
                // Declaration order is lost by JSONSerialization: sort for a stable grammar.
                var pairs: [(key: String, rule: String, required: Bool)] = []
                for key in properties.keys.sorted() {
                    guard let property = properties[key] as? [String: Any] else { throw fail(path + "/properties/" + key, "must be a schema object") }
                    let value = try rule(for: property, at: path + "/properties/" + key, name: name + "-" + Self.ruleName(key))
                    pairs.append((key, #"\#(try literal(key, at: path)) ":" space \#(value)"#, required.contains(key)))
                }
                let mandatory = pairs.filter(\.required).map(\.rule)
                let optional = pairs.filter { !$0.required }.map(\.rule)
                var body: String
                if !mandatory.isEmpty {
                    body = mandatory.joined(separator: #" "," space "#) + optional.map { #" ("," space \#($0))?"# }.joined()
                } else if !optional.isEmpty {
                    // Without a required property, each optional one may follow only the ones before it.
                    body = "(" + optional.reversed().reduce("") { rest, pair in
                        rest.isEmpty ? pair : #"\#(pair) ("," space \#(rest))?"#
                    } + ")?"
                } else {
                    body = ""
                }
                let ruleName = name + "-object"
                rules[ruleName] = #""{" space \#(body) "}" space"#
                return ruleName
            default:
                throw fail(path, "unsupported type \"\(type)\"")
            }
        }

        /// Any JSON value, for arrays without `items`.
        private mutating func addAnyValue() throws(KernelError) {
            rules["value-any"] = #"(string | number | boolean | null | "[" space (value-any ("," space value-any)*)? "]" space | "{" space (string ":" space value-any ("," space string ":" space value-any)*)? "}" space)"#
        }

        /// A grammar literal matching exactly the JSON text of `value`.
        private func literal(_ value: Any, at path: String) throws(KernelError) -> String {
            guard JSONSerialization.isValidJSONObject([value]),
                  let data = try? JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed, .withoutEscapingSlashes]),
                  let text = String(data: data, encoding: .utf8) else {
                throw fail(path, "value is not JSON")
            }
            let json = String(text.dropFirst().dropLast())
            let escaped = json.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" space"
        }

        static func ruleName(_ text: String) -> String {
            let cleaned = text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? String($0) : "-" }.joined()
            return cleaned.isEmpty ? "x" : cleaned
        }
    }
}
