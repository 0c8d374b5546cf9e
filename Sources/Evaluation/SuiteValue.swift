import StrictJSON

/// A value written in a suite as YAML keeps it: a scalar (as its text), a
/// list, or a map with keys in document order.
///
/// Scalars stay text because YAML's own typing would turn `no` into false and
/// `A-200` into a string but `229` into a number; assertions compare text,
/// and compare scalars with JSON values by their text or numeric value.
public enum SuiteValue: Sendable, Equatable, Decodable {
    case scalar(String)
    case list([SuiteValue])
    case map([Member])

    /// One entry of a map.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: SuiteValue
        public init(key: String, value: SuiteValue) {
            self.key = key
            self.value = value
        }
    }

    public init(from decoder: Decoder) throws {
        if let map = try? decoder.container(keyedBy: AnyKey.self) {
            self = .map(try map.allKeys.map { Member(key: $0.stringValue, value: try map.decode(SuiteValue.self, forKey: $0)) })
        } else if var list = try? decoder.unkeyedContainer() {
            var elements: [SuiteValue] = []
            while !list.isAtEnd { elements.append(try list.decode(SuiteValue.self)) }
            self = .list(elements)
        } else {
            self = .scalar(try decoder.singleValueContainer().decode(String.self))
        }
    }

    /// The text of a scalar; nil for a list or a map.
    public var text: String? {
        if case .scalar(let text) = self { return text }
        return nil
    }

    /// The value with every `{{name}}` in its scalars replaced from `variables`.
    func filled(with variables: [String: String]) -> SuiteValue {
        switch self {
        case .scalar(let text): .scalar(Template.fill(text, with: variables))
        case .list(let elements): .list(elements.map { $0.filled(with: variables) })
        case .map(let members): .map(members.map { Member(key: $0.key, value: $0.value.filled(with: variables)) })
        }
    }

    /// Every variable name its scalars use.
    var variableNames: [String] {
        switch self {
        case .scalar(let text): Template.variableNames(in: text)
        case .list(let elements): elements.flatMap(\.variableNames)
        case .map(let members): members.flatMap(\.value.variableNames)
        }
    }

    /// The value as JSON: scalars as strings, maps as objects in their order.
    public var json: JSONValue {
        switch self {
        case .scalar(let text): .string(text)
        case .list(let elements): .array(elements.map(\.json))
        case .map(let members): .object(members.map { (key: $0.key, value: $0.value.json) })
        }
    }

    /// True when `actual` holds everything this value says: a map's keys with
    /// matching values (other keys may be there too), a list's elements in
    /// order, a scalar equal to a string, or to a number, boolean or null
    /// written the same way or of the same numeric value.
    public func isSubset(of actual: JSONValue) -> Bool {
        switch (self, actual) {
        case (.map(let members), .object):
            return members.allSatisfy { member in actual[member.key].map(member.value.isSubset(of:)) ?? false }
        case (.list(let elements), .array(let actualElements)):
            return elements.count == actualElements.count && zip(elements, actualElements).allSatisfy { $0.isSubset(of: $1) }
        case (.scalar(let text), .string(let string)):
            return text == string
        case (.scalar(let text), .integer), (.scalar(let text), .unsigned), (.scalar(let text), .number):
            return text == actual.jsonText || Double(text).map { $0 == actual.doubleValue } ?? false
        case (.scalar(let text), .bool), (.scalar(let text), .null):
            return text == actual.jsonText
        default:
            return false
        }
    }

    /// Compact text for people: `{sku: A-200}`, `[a, b]`, `A-200`.
    public var compactText: String {
        switch self {
        case .scalar(let text): text
        case .list(let elements): "[" + elements.map(\.compactText).joined(separator: ", ") + "]"
        case .map(let members): "{" + members.map { "\($0.key): \($0.value.compactText)" }.joined(separator: ", ") + "}"
        }
    }
}

extension JSONValue {
    /// A number's value as a Double; nil for other values.
    var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .unsigned(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}

/// A coding key of any name, to read maps whose keys are data.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}
