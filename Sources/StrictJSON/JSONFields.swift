/// The members of a JSON object read by name into Swift values, for wire
/// types that map their JSON by hand rather than through `Codable`.
///
/// An absent member reads as null. A member of the wrong kind, or a required
/// one that is null, throws a `JSONShapeError` naming its path
/// (`instances[3].state`). Members nobody asks for are ignored, so a newer
/// sender may add some.
public struct JSONFields {
    private let members: [(key: String, value: JSONValue)]
    /// Where the object sits in its document, for errors: `parent[index]`, or
    /// `parent` alone when `index` is nil ("" for the whole document).
    private let parent: String
    private let index: Int?

    /// The members of `value`, which must be an object.
    public init(_ value: JSONValue) throws(JSONShapeError) {
        try self.init(value, parent: "", index: nil)
    }

    private init(_ value: JSONValue, parent: String, index: Int?) throws(JSONShapeError) {
        guard case .object(let members) = value else {
            throw JSONShapeError(path: Self.path(parent, index), problem: "should be an object, not \(value.kindName)")
        }
        self.members = members
        self.parent = parent
        self.index = index
    }

    public func string(_ key: String) throws(JSONShapeError) -> String {
        guard let text = try optionalString(key) else { throw failure(key, expected: "a string") }
        return text
    }

    public func optionalString(_ key: String) throws(JSONShapeError) -> String? {
        switch member(key) {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw failure(key, expected: "a string")
        }
    }

    /// A number that is exactly an `Int`.
    public func int(_ key: String) throws(JSONShapeError) -> Int {
        guard let value = member(key)?.asInt else { throw failure(key, expected: "an integer") }
        return value
    }

    /// A number that is exactly a `UInt64`.
    public func unsigned(_ key: String) throws(JSONShapeError) -> UInt64 {
        let value: UInt64? = switch member(key) {
        case .integer(let value)?: UInt64(exactly: value)
        case .unsigned(let value)?: value
        case .number(let value)?: UInt64(exactly: value)
        default: nil
        }
        guard let value else { throw failure(key, expected: "an unsigned integer") }
        return value
    }

    public func double(_ key: String) throws(JSONShapeError) -> Double {
        guard let value = try optionalDouble(key) else { throw failure(key, expected: "a number") }
        return value
    }

    public func optionalDouble(_ key: String) throws(JSONShapeError) -> Double? {
        switch member(key) {
        case nil, .null?: return nil
        case .integer(let value)?: return Double(value)
        case .unsigned(let value)?: return Double(value)
        case .number(let value)?: return value
        default: throw failure(key, expected: "a number")
        }
    }

    /// Object member `key`, or nil when it is absent or null.
    public func optionalObject(_ key: String) throws(JSONShapeError) -> JSONFields? {
        switch member(key) {
        case nil, .null?: return nil
        case let value?: return try JSONFields(value, parent: path(key), index: nil)
        }
    }

    /// The elements of member `key`, which must be an array of objects.
    public func objects(_ key: String) throws(JSONShapeError) -> [JSONFields] {
        guard case .array(let elements)? = member(key) else { throw failure(key, expected: "an array") }
        let parent = path(key)
        var objects: [JSONFields] = []
        objects.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            objects.append(try JSONFields(element, parent: parent, index: index))
        }
        return objects
    }

    private func member(_ key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    /// Why member `key` is not `expected`: missing, or what it is instead (a
    /// number as written, so one out of range is plain to see).
    private func failure(_ key: String, expected: String) -> JSONShapeError {
        guard let value = member(key) else { return JSONShapeError(path: path(key), problem: "is missing") }
        let found = switch value {
        case .integer, .unsigned, .number: value.jsonText
        default: value.kindName
        }
        return JSONShapeError(path: path(key), problem: "should be \(expected), not \(found)")
    }

    private static func path(_ parent: String, _ index: Int?) -> String {
        index.map { "\(parent)[\($0)]" } ?? parent
    }

    private func path(_ key: String) -> String {
        let path = Self.path(parent, index)
        return path.isEmpty ? key : path + "." + key
    }
}

/// Why well-formed JSON is not the shape a wire type expects: which member, and what is wrong with it.
public struct JSONShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The member's path (`instances[3].state`); "" for the whole document.
    public let path: String
    /// "is missing", "should be a string, not null".
    public let problem: String

    public var description: String { "\(path.isEmpty ? "the document" : path) \(problem)" }
}
