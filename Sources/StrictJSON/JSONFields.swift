/// The members of a JSON object read by name into Swift values, for wire
/// types that map their JSON by hand rather than through `Codable`.
///
/// An absent member reads as null. A member of the wrong kind, or a required
/// one that is null, throws a `JSONShapeError` naming its path
/// (`instances[3].state`). Members nobody asks for are ignored, so a newer
/// sender may add some.
public struct JSONFields {
    private let members: [(key: String, value: JSONValue)]
    /// Where the object sits in its document, for errors: "" for the whole document.
    public let path: String

    /// The members of `value`, which must be an object.
    public init(_ value: JSONValue, path: String = "") throws(JSONShapeError) {
        guard case .object(let members) = value else {
            throw JSONShapeError(path: path, problem: "should be an object, not \(value.kindName)")
        }
        self.members = members
        self.path = path
    }

    /// Member `key`, which must be present and not null.
    public func required<Value: JSONScalar>(_ key: String, as type: Value.Type = Value.self) throws(JSONShapeError) -> Value {
        guard let value = try optional(key, as: type) else {
            throw JSONShapeError(path: self.path(key), problem: member(key) == nil ? "is missing" : "should be \(Value.jsonKind), not null")
        }
        return value
    }

    /// Member `key`, or nil when it is absent or null.
    public func optional<Value: JSONScalar>(_ key: String, as type: Value.Type = Value.self) throws(JSONShapeError) -> Value? {
        guard let json = member(key), json != .null else { return nil }
        guard let value = Value(json: json) else {
            throw JSONShapeError(path: path(key), problem: "should be \(Value.jsonKind), not \(Self.describe(json))")
        }
        return value
    }

    /// Object member `key`, or nil when it is absent or null.
    public func optionalObject(_ key: String) throws(JSONShapeError) -> JSONFields? {
        guard let json = member(key), json != .null else { return nil }
        return try JSONFields(json, path: path(key))
    }

    /// The elements of member `key`, which must be an array of objects.
    public func objects(_ key: String) throws(JSONShapeError) -> [JSONFields] {
        guard case .array(let elements)? = member(key) else {
            throw JSONShapeError(path: path(key), problem: member(key).map { "should be an array, not \($0.kindName)" } ?? "is missing")
        }
        var objects: [JSONFields] = []
        objects.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            objects.append(try JSONFields(element, path: "\(path(key))[\(index)]"))
        }
        return objects
    }

    private func member(_ key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    /// A number as written (so one out of range shows); any other value by its kind.
    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer, .unsigned, .number: value.jsonText
        default: value.kindName
        }
    }

    private func path(_ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }
}

/// A Swift value one JSON scalar reads into, for `JSONFields`.
public protocol JSONScalar {
    /// The value `json` holds; nil when it holds another kind or is out of range.
    init?(json: JSONValue)
    /// What a member read as it must hold, for errors: "a string".
    static var jsonKind: String { get }
}

extension String: JSONScalar {
    public init?(json: JSONValue) {
        guard case .string(let text) = json else { return nil }
        self = text
    }

    public static var jsonKind: String { "a string" }
}

extension Int: JSONScalar {
    public init?(json: JSONValue) {
        guard let value = json.asInt else { return nil }
        self = value
    }

    public static var jsonKind: String { "an integer" }
}

extension UInt64: JSONScalar {
    public init?(json: JSONValue) {
        let exact: UInt64? = switch json {
        case .integer(let value): UInt64(exactly: value)
        case .unsigned(let value): value
        case .number(let value): UInt64(exactly: value)
        default: nil
        }
        guard let exact else { return nil }
        self = exact
    }

    public static var jsonKind: String { "an unsigned integer" }
}

extension Double: JSONScalar {
    public init?(json: JSONValue) {
        switch json {
        case .integer(let value): self = Double(value)
        case .unsigned(let value): self = Double(value)
        case .number(let value): self = value
        default: return nil
        }
    }

    public static var jsonKind: String { "a number" }
}

/// Why well-formed JSON is not the shape a wire type expects: which member, and what is wrong with it.
public struct JSONShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The member's path (`instances[3].state`); "" for the whole document.
    public let path: String
    /// "is missing", "should be a string, not null".
    public let problem: String

    public var description: String { "\(path.isEmpty ? "the document" : path) \(problem)" }
}
