/// Writes `JSONValue`s as JSON text in UTF-8 bytes: compact, spaced (after
/// each `,` and `:`) or pretty (two spaces per level).
///
/// Bytes rather than `String` appends, so a string is escaped by copying
/// the runs that need no escape whole: a 10,000-row `ps` listing takes a few
/// milliseconds rather than half a second.
struct JSONWriter {
    enum Style { case compact, spaced, pretty }

    private(set) var bytes: [UInt8] = []
    private let style: Style

    init(style: Style) { self.style = style }

    mutating func write(_ value: JSONValue, depth: Int = 0) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .integer(let value):
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            digits(value.magnitude)
        case .unsigned(let value): digits(value)
        case .number(let value): bytes.append(contentsOf: JSONValue.numberText(value).utf8)
        case .string(let string): quoted(string)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                separator(first: index == 0, depth: depth + 1)
                write(element, depth: depth + 1)
            }
            close(UInt8(ascii: "]"), empty: elements.isEmpty, depth: depth)
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                separator(first: index == 0, depth: depth + 1)
                quoted(member.key)
                append(style == .compact ? ":" : ": ")
                write(member.value, depth: depth + 1)
            }
            close(UInt8(ascii: "}"), empty: members.isEmpty, depth: depth)
        }
    }

    /// What goes before an element or member: a comma after the first, and in
    /// pretty style a new line and the indentation.
    private mutating func separator(first: Bool, depth: Int) {
        switch style {
        case .compact: if !first { bytes.append(UInt8(ascii: ",")) }
        case .spaced: if !first { append(", ") }
        case .pretty:
            append(first ? "\n" : ",\n")
            indent(depth)
        }
    }

    private mutating func close(_ bracket: UInt8, empty: Bool, depth: Int) {
        if style == .pretty && !empty {
            bytes.append(UInt8(ascii: "\n"))
            indent(depth)
        }
        bytes.append(bracket)
    }

    private mutating func indent(_ depth: Int) {
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The decimal digits of `value`.
    private mutating func digits(_ value: UInt64) {
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
    mutating func quoted(_ string: String) {
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
