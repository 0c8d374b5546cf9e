import StrictJSON

/// A shallow JSON Schema check for `json-schema` assertions: the value's
/// `type`, the object's `required` keys, and the `type` of each top-level
/// property present. Other keywords (enum, minimum, nested schemas, ...) are
/// not checked.
struct SchemaCheck {
    /// A schema that cannot be used.
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    private let types: [String]?
    private let required: [String]
    private let propertyTypes: [(name: String, types: [String])]

    static let typeNames: Set = ["object", "array", "string", "number", "integer", "boolean", "null"]

    /// Reads a schema written as a map, or as JSON text.
    init(_ value: SuiteValue) throws(Invalid) {
        let schema: JSONValue
        switch value {
        case .scalar(let text):
            do {
                schema = try JSONParser.parse(text)
            } catch {
                throw Invalid(description: "the schema is not JSON: \(error)")
            }
        default:
            schema = value.json
        }
        guard case .object = schema else { throw Invalid(description: "the schema must be an object") }
        types = try Self.types(schema["type"], at: "type")
        switch schema["required"] {
        case nil: required = []
        case .array(let names)?:
            required = try names.map { name throws(Invalid) in
                guard case .string(let name) = name else { throw Invalid(description: "required must list key names") }
                return name
            }
        default: throw Invalid(description: "required must be a list of key names")
        }
        switch schema["properties"] {
        case nil: propertyTypes = []
        case .object(let members)?:
            var propertyTypes: [(name: String, types: [String])] = []
            for member in members {
                if let types = try Self.types(member.value["type"], at: "properties.\(member.key).type") {
                    propertyTypes.append((member.key, types))
                }
            }
            self.propertyTypes = propertyTypes
        default: throw Invalid(description: "properties must be a map of key names to schemas")
        }
    }

    private static func types(_ value: JSONValue?, at path: String) throws(Invalid) -> [String]? {
        let names: [String]
        switch value {
        case nil: return nil
        case .string(let name)?: names = [name]
        case .array(let elements)?: names = elements.compactMap { if case .string(let name) = $0 { name } else { nil } }
        default: throw Invalid(description: "\(path) must be a type name or a list of them")
        }
        guard !names.isEmpty, names.allSatisfy(typeNames.contains) else {
            throw Invalid(description: "\(path) must name types among \(typeNames.sorted().joined(separator: ", "))")
        }
        return names
    }

    /// Why `json` does not match the schema, or nil when it does.
    func mismatch(_ json: JSONValue) -> String? {
        if let types, !Self.matches(json, types) {
            return "the answer is \(json.kindName), not \(types.joined(separator: " or "))"
        }
        for key in required where json[key] == nil {
            return "the answer has no key \"\(key)\""
        }
        for (name, types) in propertyTypes {
            if let member = json[name], !Self.matches(member, types) {
                return "\"\(name)\" is \(member.kindName), not \(types.joined(separator: " or "))"
            }
        }
        return nil
    }

    private static func matches(_ json: JSONValue, _ types: [String]) -> Bool {
        types.contains { type in
            switch (type, json) {
            case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): true
            case ("integer", .integer), ("integer", .unsigned): true
            case ("integer", .number(let value)): value == value.rounded()
            case ("number", .integer), ("number", .unsigned), ("number", .number): true
            default: false
            }
        }
    }
}
