/// Writes JSON text as UTF-8 bytes, one value at a time: compact, spaced
/// (a space after each `,` and `:`) or pretty (two spaces per level).
///
///     var writer = JSONWriter()
///     writer.beginObject()
///     writer.member("name", "echo")
///     writer.member("cpu_seconds", nil as Double?)
///     writer.key("tags")
///     writer.beginArray()
///     writer.endArray()
///     writer.endObject()          // {"name":"echo","cpu_seconds":null,"tags":[]}
///
/// The caller writes a well-formed sequence (a key before each member's
/// value, ends matching begins); the writer adds the commas and, in pretty
/// style, the new lines, and checks nothing else. A wire type written this way
/// (`InstanceList`) makes no `JSONValue` tree first, and a string is escaped
/// by copying the runs that need no escape whole: 10,000 `ps` rows take a
/// few milliseconds.
public struct JSONWriter {
    public enum Style: Sendable { case compact, spaced, pretty }

    /// The text written so far.
    public private(set) var bytes: [UInt8] = []
    private let style: Style
    /// Containers open around the next value.
    private var depth = 0
    /// Whether the innermost open container has an element (or member) yet.
    private var hasElements = false
    /// Whether a key was just written, so its value takes no separator.
    private var afterKey = false

    public init(style: Style = .compact) {
        self.style = style
    }

    /// Writes `value` whole.
    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let value): integer(value)
        case .unsigned(let value): unsigned(value)
        case .number(let value): number(value)
        case .string(let text): string(text)
        case .array(let elements):
            beginArray()
            for element in elements { write(element) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                write(member.value)
            }
            endObject()
        }
    }

    public mutating func beginObject() { begin(UInt8(ascii: "{")) }
    public mutating func endObject() { end(UInt8(ascii: "}")) }
    public mutating func beginArray() { begin(UInt8(ascii: "[")) }
    public mutating func endArray() { end(UInt8(ascii: "]")) }

    /// Starts member `key` of the object being written; its value comes next.
    public mutating func key(_ key: String) {
        separate()
        quoted(key)
        append(style == .compact ? ":" : ": ")
        afterKey = true
    }

    /// Member `key` with a string value, or null.
    public mutating func member(_ key: String, _ value: String?) {
        self.key(key)
        string(value)
    }

    /// Member `key` with a number value, or null.
    public mutating func member(_ key: String, _ value: Double?) {
        self.key(key)
        number(value)
    }

    public mutating func member(_ key: String, _ value: Int) {
        self.key(key)
        integer(Int64(value))
    }

    public mutating func member(_ key: String, _ value: UInt64) {
        self.key(key)
        unsigned(value)
    }

    /// A string, or null.
    public mutating func string(_ text: String?) {
        separate()
        guard let text else { return append("null") }
        quoted(text)
    }

    /// A number, or null. Integral values below 10^15 are written without a
    /// fraction, others so they read back exact; non-finite ones as null.
    public mutating func number(_ value: Double?) {
        separate()
        guard let value, value.isFinite else { return append("null") }
        if value == value.rounded(), abs(value) < 1e15 {
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            digits(UInt64(abs(value)))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    public mutating func integer(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(value.magnitude)
    }

    public mutating func unsigned(_ value: UInt64) {
        separate()
        digits(value)
    }

    public mutating func bool(_ flag: Bool) {
        separate()
        append(flag ? "true" : "false")
    }

    public mutating func null() {
        separate()
        append("null")
    }

    /// What goes before a value: nothing after a key or at the top; else a
    /// comma after the container's first element, and in pretty style a new
    /// line and the indentation.
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard depth > 0 else { return }
        switch style {
        case .compact: if hasElements { bytes.append(UInt8(ascii: ",")) }
        case .spaced: if hasElements { append(", ") }
        case .pretty:
            append(hasElements ? ",\n" : "\n")
            indent()
        }
        hasElements = true
    }

    private mutating func begin(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        depth += 1
        hasElements = false
    }

    /// Closes the innermost container, which is then an element of the one around it.
    private mutating func end(_ bracket: UInt8) {
        depth -= 1
        if style == .pretty && hasElements {
            bytes.append(UInt8(ascii: "\n"))
            indent()
        }
        bytes.append(bracket)
        hasElements = true
    }

    private mutating func indent() {
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The decimal digits of `value`.
    private mutating func digits(_ value: UInt64) {
        if value < 10 { return bytes.append(UInt8(ascii: "0") + UInt8(value)) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var rest = value
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// `string` as a JSON string literal: `"`, `\` and control characters escaped, all else as is.
    private mutating func quoted(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var run = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<index]))
                run = index + 1
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case UInt8(ascii: "\n"): append("\\n")
                case UInt8(ascii: "\r"): append("\\r")
                case UInt8(ascii: "\t"): append("\\t")
                default:
                    append("\\u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
