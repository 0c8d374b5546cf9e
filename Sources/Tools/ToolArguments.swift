import Glibc
import StrictJSON

/// Arguments checked against a tool's signature, in the C function's order,
/// ready for libffi. Made only by `Tool.arguments(from:)`.
public struct ToolArguments: Sendable {
    enum Value: Sendable {
        case int32(Int32), int64(Int64), uint32(UInt32), uint64(UInt64)
        case double(Double), float(Float), bool(Bool)
        /// nil passes NULL (an absent optional string).
        case string(String?)

        /// The 8-byte argument slot libffi reads; `string` is the C string kept alive for the call.
        func slot(_ string: UnsafePointer<CChar>?) -> UInt64 {
            switch self {
            case .int32(let value): UInt64(UInt32(bitPattern: value))
            case .int64(let value): UInt64(bitPattern: value)
            case .uint32(let value): UInt64(value)
            case .uint64(let value): value
            case .double(let value): value.bitPattern
            case .float(let value): UInt64(value.bitPattern)
            case .bool(let value): value ? 1 : 0
            case .string: UInt64(UInt(bitPattern: string))
            }
        }
    }

    let values: [Value]

    /// Runs `body` with a C string for each string argument (nil elsewhere), valid during the call.
    func withCStrings<R>(_ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = values.map { value in
            guard case .string(let text?) = value else { return nil }
            return strdup(text)
        }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }
}

/// Why arguments do not fit a tool's signature; the message names the argument.
public struct ToolArgumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Tool {
    /// Longest string argument accepted, in bytes.
    public static let maxStringBytes = 64 << 10

    /// Checks the JSON text of an arguments object: parses it, then checks it as `arguments(from:)`.
    public func arguments(fromJSON text: String) throws(ToolArgumentError) -> ToolArguments {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch {
            throw ToolArgumentError("the arguments are not valid JSON: \(error)")
        }
        if jsonSchema != nil {
            try checkAgainstSchema(value)
            return ToolArguments(values: [.string(text)])
        }
        return try arguments(from: value)
    }

    /// Checks `value` against the signature: an object, no unknown keys,
    /// every required argument present and not null, each of its parameter's
    /// type and range, strings within `maxStringBytes` and without NUL bytes.
    public func arguments(from value: JSONValue) throws(ToolArgumentError) -> ToolArguments {
        if jsonSchema != nil {
            try checkAgainstSchema(value)
            return ToolArguments(values: [.string(value.jsonText)])
        }
        guard case .object(let members) = value else {
            throw ToolArgumentError("the arguments must be a JSON object, not \(value.kindName)")
        }
        for member in members where !parameters.contains(where: { $0.name == member.key }) {
            let known = parameters.isEmpty ? "it takes none" : "it takes " + parameters.map(\.name).joined(separator: ", ")
            throw ToolArgumentError("unknown argument \"\(member.key.prefix(64))\" (\(known))")
        }
        var values: [ToolArguments.Value] = []
        values.reserveCapacity(parameters.count)
        for parameter in parameters {
            let given = members.first { $0.key == parameter.name }?.value
            switch given {
            case nil, .null?:
                guard !parameter.isRequired else {
                    throw ToolArgumentError(given == nil
                        ? "missing required argument \"\(parameter.name)\" (\(parameter.type.name))"
                        : "argument \"\(parameter.name)\" is null; expected \(parameter.type.name)")
                }
                values.append(Self.zero(of: parameter.type))
            case let given?:
                values.append(try Self.convert(given, to: parameter))
            }
        }
        return ToolArguments(values: values)
    }

    private static func zero(of type: ToolType) -> ToolArguments.Value {
        switch type {
        case .int32: .int32(0)
        case .int64: .int64(0)
        case .uint32: .uint32(0)
        case .uint64: .uint64(0)
        case .double: .double(0)
        case .float: .float(0)
        case .bool: .bool(false)
        case .string, .json: .string(nil)
        }
    }

    private static func convert(_ value: JSONValue, to parameter: ToolParameter) throws(ToolArgumentError) -> ToolArguments.Value {
        func mismatch() -> ToolArgumentError {
            ToolArgumentError("argument \"\(parameter.name)\" is \(value.kindName); expected \(parameter.type.name)")
        }
        func outOfRange(_ range: String) -> ToolArgumentError {
            ToolArgumentError("argument \"\(parameter.name)\" is \(value.jsonText.prefix(40)), out of range for \(parameter.type.name) (\(range))")
        }
        switch parameter.type {
        case .int32, .int64, .uint32, .uint64:
            let integer: (signed: Int64?, unsigned: UInt64?)
            switch value {
            case .integer(let number): integer = (number, number >= 0 ? UInt64(number) : nil)
            case .unsigned(let number): integer = (nil, number)
            case .number(let number) where number == number.rounded():
                integer = (Int64(exactly: number), UInt64(exactly: number))
                if integer.signed == nil && integer.unsigned == nil { throw outOfRange("a 64-bit integer") }
            case .number: throw ToolArgumentError("argument \"\(parameter.name)\" is \(value.jsonText); expected an integer (\(parameter.type.name))")
            default: throw mismatch()
            }
            switch parameter.type {
            case .int32:
                guard let signed = integer.signed, let narrow = Int32(exactly: signed) else { throw outOfRange("\(Int32.min)...\(Int32.max)") }
                return .int32(narrow)
            case .int64:
                guard let signed = integer.signed else { throw outOfRange("\(Int64.min)...\(Int64.max)") }
                return .int64(signed)
            case .uint32:
                guard let unsigned = integer.unsigned, let narrow = UInt32(exactly: unsigned) else { throw outOfRange("0...\(UInt32.max)") }
                return .uint32(narrow)
            default:
                guard let unsigned = integer.unsigned else { throw outOfRange("0...\(UInt64.max)") }
                return .uint64(unsigned)
            }
        case .double, .float:
            let number: Double
            switch value {
            case .integer(let integer): number = Double(integer)
            case .unsigned(let integer): number = Double(integer)
            case .number(let double): number = double
            default: throw mismatch()
            }
            guard parameter.type == .float else { return .double(number) }
            guard abs(number) <= Double(Float.greatestFiniteMagnitude) else { throw outOfRange("±\(Float.greatestFiniteMagnitude)") }
            return .float(Float(number))
        case .bool:
            guard case .bool(let flag) = value else { throw mismatch() }
            return .bool(flag)
        case .string, .json:
            guard case .string(let text) = value else { throw mismatch() }
            guard text.utf8.count <= maxStringBytes else {
                throw ToolArgumentError("argument \"\(parameter.name)\" is \(text.utf8.count) bytes; strings may be at most \(maxStringBytes)")
            }
            guard !text.utf8.contains(0) else {
                throw ToolArgumentError("argument \"\(parameter.name)\" contains a NUL character, which a C string cannot carry")
            }
            return .string(text)
        }
    }

    /// A JSON tool's argument: an object whose top-level members fit the schema's
    /// `properties` (types), `required` and `additionalProperties: false`.
    private func checkAgainstSchema(_ value: JSONValue) throws(ToolArgumentError) {
        guard case .object(let members) = value, let schema = jsonSchema else {
            throw ToolArgumentError("the arguments must be a JSON object, not \(value.kindName)")
        }
        var properties: [(key: String, value: JSONValue)] = []
        if case .object(let declared)? = schema["properties"] { properties = declared }
        if case .array(let required)? = schema["required"] {
            for case .string(let key) in required where !members.contains(where: { $0.key == key }) {
                throw ToolArgumentError("missing required argument \"\(key)\"")
            }
        }
        for member in members {
            guard let property = properties.first(where: { $0.key == member.key })?.value else {
                if schema["additionalProperties"] == .bool(false) {
                    throw ToolArgumentError("unknown argument \"\(member.key.prefix(64))\" (it takes \(properties.map(\.key).joined(separator: ", ")))")
                }
                continue
            }
            guard case .string(let type)? = property["type"] else { continue }
            let fits = switch (type, member.value) {
            case ("string", .string), ("boolean", .bool), ("null", .null), ("array", .array), ("object", .object): true
            case ("integer", .integer), ("integer", .unsigned): true
            case ("integer", .number(let number)): number == number.rounded()
            case ("number", .integer), ("number", .unsigned), ("number", .number): true
            default: false
            }
            guard fits else {
                throw ToolArgumentError("argument \"\(member.key)\" is \(member.value.kindName); expected \(type)")
            }
        }
    }
}
