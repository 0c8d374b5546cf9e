import CAgentOS
import CFFI
import Glibc
import StrictJSON

/// One tool of a loaded plugin: its signature, copied out of the descriptor
/// and checked, and the libffi call interface built for it once at load.
///
/// Immutable after `init`, so any thread may call it. The function pointer is
/// valid only while its library is loaded: the kernel keeps it loaded while
/// a call runs.
public final class Tool: @unchecked Sendable {
    /// The name in its plugin, e.g. "lookup_product" (callers prefix the instance name).
    public let name: String
    public let description: String
    public let returns: ToolType
    /// In the C function's argument order; empty for a JSON tool.
    public let parameters: [ToolParameter]
    /// For a JSON tool (`char *fn(const char *args_json)`): the schema of its one object argument.
    public let jsonSchema: JSONValue?
    /// Marked AOS_TOOL_THREAD_SAFE: may run on callers' threads at once.
    public let isThreadSafe: Bool
    /// Marked AOS_TOOL_NEEDS_APPROVAL: the tool loop waits for an operator before calling it.
    public let needsApproval: Bool

    let function: aos_tool_fn
    let freeResult: (@convention(c) (UnsafeMutablePointer<CChar>?) -> Void)?
    private let interface: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    /// "INSTANCE.name" as a C string, for `CurrentToolCall` while a call runs.
    private let label: UnsafeMutablePointer<CChar>

    /// Parameters one tool may have.
    public static let maxParameters = 16

    /// Reads and checks `tool`, whose `params` array has elements `paramStride`
    /// bytes apart (see `ToolTable`); `owner` is the instance that provides it.
    /// Throws a `ToolDefinitionError` naming the tool and the problem.
    init(_ tool: aos_tool, index: Int, paramStride: Int, owner: String) throws(ToolDefinitionError) {
        guard let cName = tool.name, let name = String(validatingCString: cName), Self.isValidToolName(name) else {
            let shown = tool.name.flatMap { String(validatingCString: $0) }.map { "\"\($0)\"" } ?? "NULL"
            throw ToolDefinitionError(.invalid, "tool \(index) has the name \(shown): use 1-63 letters, digits, '_' or '-'")
        }
        guard let function = tool.fn else {
            throw ToolDefinitionError(.missingFunction, "tool \(name) has no function (fn is NULL)")
        }
        guard let returns = ToolType(rawValue: tool.returns) else {
            throw ToolDefinitionError(.unsupportedType, "tool \(name) returns type \(tool.returns), which is not an AOS_TYPE_*")
        }
        guard tool.flags & ~(AOS_TOOL_THREAD_SAFE | AOS_TOOL_NEEDS_APPROVAL) == 0 else {
            throw ToolDefinitionError(.invalid, "tool \(name) has unknown flags 0x\(String(tool.flags, radix: 16))")
        }
        guard tool.n_params <= UInt32(Self.maxParameters) else {
            throw ToolDefinitionError(.invalid, "tool \(name) has \(tool.n_params) parameters; at most \(Self.maxParameters)")
        }
        var parameters: [ToolParameter] = []
        if tool.n_params > 0 {
            guard let params = tool.params else {
                throw ToolDefinitionError(.invalid, "tool \(name) has n_params \(tool.n_params) but params is NULL")
            }
            for position in 0..<Int(tool.n_params) {
                var element = aos_tool_param()
                ToolTable.copy(UnsafeRawPointer(params) + position * paramStride, stride: paramStride, into: &element)
                let parameter = try ToolParameter(element, tool: name, position: position)
                guard !parameters.contains(where: { $0.name == parameter.name }) else {
                    throw ToolDefinitionError(.duplicateName, "tool \(name) has two parameters named \(parameter.name)")
                }
                parameters.append(parameter)
            }
        }
        var jsonSchema: JSONValue?
        if let schemaText = tool.json_schema {
            guard parameters.isEmpty else {
                throw ToolDefinitionError(.invalid, "tool \(name) has both params and json_schema: a JSON tool takes one object")
            }
            jsonSchema = try Self.readSchema(schemaText, tool: name)
        }
        self.name = name
        self.description = tool.description.flatMap { String(validatingCString: $0) } ?? ""
        self.returns = returns
        self.parameters = parameters
        self.jsonSchema = jsonSchema
        self.isThreadSafe = tool.flags & AOS_TOOL_THREAD_SAFE != 0
        self.needsApproval = tool.flags & AOS_TOOL_NEEDS_APPROVAL != 0
        self.function = function
        self.freeResult = tool.free_result

        let types = jsonSchema != nil ? [ToolType.string] : parameters.map(\.type)
        argumentTypes = .allocate(capacity: max(types.count, 1))
        for (position, type) in types.enumerated() { argumentTypes[position] = type.ffiType }
        interface = .allocate(capacity: 1)
        let status = ffi_prep_cif(interface, FFI_DEFAULT_ABI, UInt32(types.count), returns.ffiType, argumentTypes)
        guard status == FFI_OK else {
            interface.deallocate()
            argumentTypes.deallocate()
            throw ToolDefinitionError(.invalid, "libffi cannot build a call for tool \(name) (ffi_prep_cif returned \(status.rawValue))")
        }
        label = strdup(owner + "." + name)
    }

    deinit {
        interface.deallocate()
        argumentTypes.deallocate()
        free(label)
    }

    /// Tool names: 1-63 bytes of [A-Za-z0-9_-].
    static func isValidToolName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63 && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D
        }
    }

    private static func readSchema(_ text: UnsafePointer<CChar>, tool: String) throws(ToolDefinitionError) -> JSONValue {
        guard let string = String(validatingCString: text) else {
            throw ToolDefinitionError(.invalid, "tool \(tool): json_schema is not valid UTF-8")
        }
        let schema: JSONValue
        do { schema = try JSONParser.parse(string) } catch {
            throw ToolDefinitionError(.invalid, "tool \(tool): json_schema is not JSON: \(error)")
        }
        guard case .object = schema, schema["type"] == nil || schema["type"] == .string("object") else {
            throw ToolDefinitionError(.invalid, "tool \(tool): json_schema must describe an object ({\"type\": \"object\", …})")
        }
        if let properties = schema["properties"], case .object = properties {} else if schema["properties"] != nil {
            throw ToolDefinitionError(.invalid, "tool \(tool): json_schema properties must be an object")
        }
        return schema
    }

    // MARK: Schema

    /// The JSON Schema of the arguments object, as offered to models.
    public var parametersSchema: JSONValue {
        if let jsonSchema { return jsonSchema }
        let properties = parameters.map { parameter -> (key: String, value: JSONValue) in
            var schema: [(key: String, value: JSONValue)] = [("type", .string(parameter.type.schemaType))]
            if !parameter.description.isEmpty { schema.append(("description", .string(parameter.description))) }
            return (parameter.name, .object(schema))
        }
        return .object([
            ("type", .string("object")),
            ("properties", .object(properties)),
            ("required", .array(parameters.filter(\.isRequired).map { .string($0.name) })),
            ("additionalProperties", .bool(false)),
        ])
    }

    // MARK: Calling

    /// Calls the function with `arguments` (checked by `arguments(from:)`) on
    /// the calling thread, and turns its result into JSON text.
    /// A call the tool failed with `tool_error`, a NULL, non-UTF-8 or invalid
    /// JSON result, or a non-finite number is a `ToolFailure`.
    public func call(_ arguments: ToolArguments) -> Result<String, ToolFailure> {
        var slots = [UInt64](repeating: 0, count: max(arguments.values.count, 1))
        var returned: UInt64 = 0
        let report = CurrentToolCall.begin(label: label)
        defer { CurrentToolCall.end() }
        arguments.withCStrings { strings in
            for (position, value) in arguments.values.enumerated() {
                slots[position] = value.slot(strings[position])
            }
            slots.withUnsafeMutableBufferPointer { slots in
                var pointers = (0..<arguments.values.count).map { UnsafeMutableRawPointer(slots.baseAddress! + $0) as UnsafeMutableRawPointer? }
                pointers.withUnsafeMutableBufferPointer { pointers in
                    ffi_call(interface, function, &returned, pointers.baseAddress)
                }
            }
        }
        return result(from: returned, failure: report.message)
    }

    private func result(from raw: UInt64, failure: String?) -> Result<String, ToolFailure> {
        if returns == .string || returns == .json {
            let pointer = UnsafeMutablePointer<CChar>(bitPattern: UInt(raw))
            defer { if let pointer { freeResult?(pointer) } }
            if let failure { return .failure(ToolFailure(failure)) }
            guard let pointer else { return .failure(ToolFailure("tool \(name) returned NULL")) }
            let length = strlen(pointer)
            guard length <= Self.maxResultBytes else {
                return .failure(ToolFailure("tool \(name) returned \(length) bytes; results may be at most \(Self.maxResultBytes)"))
            }
            guard let text = String(validatingCString: pointer) else {
                return .failure(ToolFailure("tool \(name) returned text that is not valid UTF-8"))
            }
            guard returns == .json else { return .success(JSONValue.quoted(text)) }
            do { return .success(try JSONParser.parse(text).jsonText) } catch {
                return .failure(ToolFailure("tool \(name) returned invalid JSON: \(error)"))
            }
        }
        if let failure { return .failure(ToolFailure(failure)) }
        switch returns {
        case .int32: return .success(String(Int32(truncatingIfNeeded: raw)))
        case .int64: return .success(String(Int64(bitPattern: raw)))
        case .uint32: return .success(String(UInt32(truncatingIfNeeded: raw)))
        case .uint64: return .success(String(raw))
        case .bool: return .success(UInt8(truncatingIfNeeded: raw) != 0 ? "true" : "false")
        case .double, .float:
            let value = returns == .double ? Double(bitPattern: raw) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
            guard value.isFinite else { return .failure(ToolFailure("tool \(name) returned \(value), which JSON cannot carry")) }
            return .success(JSONValue.numberText(value))
        case .string, .json: fatalError("handled above")
        }
    }

    /// Largest string or JSON result accepted.
    public static let maxResultBytes = 1 << 20
}

/// One parameter of a tool.
public struct ToolParameter: Sendable, Equatable {
    public let name: String
    public let type: ToolType
    public let isRequired: Bool
    public let description: String

    init(_ param: aos_tool_param, tool: String, position: Int) throws(ToolDefinitionError) {
        guard let cName = param.name, let name = String(validatingCString: cName), Self.isValidName(name) else {
            let shown = param.name.flatMap { String(validatingCString: $0) }.map { "\"\($0)\"" } ?? "NULL"
            throw ToolDefinitionError(.invalid, "tool \(tool): parameter \(position) has the name \(shown): use [A-Za-z_][A-Za-z0-9_]*, 1-63 bytes")
        }
        guard let type = ToolType(rawValue: param.type), type != .json else {
            throw ToolDefinitionError(.unsupportedType, "tool \(tool): parameter \(name) has type \(param.type), which a parameter cannot have (use AOS_TYPE_INT32 … AOS_TYPE_STRING, or json_schema for a JSON tool)")
        }
        self.name = name
        self.type = type
        self.isRequired = param.required != 0
        self.description = param.description.flatMap { String(validatingCString: $0) } ?? ""
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        func letter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F }
        return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}

/// Why a call failed inside the tool: its own `tool_error` message, or a result the kernel cannot use.
public struct ToolFailure: Error, Sendable, Equatable {
    public let message: String
    init(_ message: String) { self.message = message }
}

/// Why a descriptor's tool table is refused at load.
public struct ToolDefinitionError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case unsupportedType, duplicateName, missingFunction, invalid
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
