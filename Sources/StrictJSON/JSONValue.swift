/// A JSON value as tool calls need it: integers kept exact to 64 bits, object
/// members in document order.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits Int64.
    case integer(Int64)
    /// A number written without fraction or exponent, above Int64.max, that fits UInt64.
    case unsigned(UInt64)
    /// Any other number.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.unsigned(let a), .unsigned(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The member named `key` of an object; nil for other values.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The text of a string; nil for other values.
    public var asString: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    /// A number that is exactly an `Int` (`3`, `3.0`, `3e0`); nil for other values,
    /// fractions and numbers out of `Int`'s range.
    public var asInt: Int? {
        switch self {
        case .integer(let value): Int(exactly: value)
        case .unsigned(let value): Int(exactly: value)
        case .number(let value): Int(exactly: value)
        default: nil
        }
    }

    /// The elements of an array; nil for other values.
    public var asArray: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// The members of an object in document order; nil for other values.
    public var asObject: [(key: String, value: JSONValue)]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// What the value is, for error messages: "a string", "null", …
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .unsigned: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Compact JSON text of the value.
    public var jsonText: String { text(.compact) }

    /// JSON text on one line with a space after each `,` and `:`, the way
    /// Python's json.dumps writes it (and so the way models saw JSON in training).
    public var spacedText: String { text(.spaced) }

    /// JSON text indented by two spaces per level, for people.
    public var prettyText: String { text(.pretty) }

    private func text(_ style: JSONWriter.Style) -> String {
        var writer = JSONWriter(style: style)
        writer.write(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// `value` as JSON: integral values without a fraction, others round-trip exact; non-finite as null.
    public static func numberText(_ value: Double) -> String {
        JSONValue.number(value).jsonText
    }

    /// `string` as a JSON string literal.
    public static func quoted(_ string: String) -> String {
        JSONValue.string(string).jsonText
    }
}
