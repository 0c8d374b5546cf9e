import CAgentOS
import CFFI

/// A value type of tool parameters and results: AOS_TYPE_* in agentos.h.
public enum ToolType: UInt32, Sendable, CaseIterable {
    case int32 = 1, int64, uint32, uint64, double, float, bool, string, json

    /// The name users see: "int32", "string", …
    public var name: String {
        switch self {
        case .int32: "int32"
        case .int64: "int64"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .double: "double"
        case .float: "float"
        case .bool: "bool"
        case .string: "string"
        case .json: "json"
        }
    }

    /// The JSON Schema `type` of values of this type.
    var schemaType: String {
        switch self {
        case .int32, .int64, .uint32, .uint64: "integer"
        case .double, .float: "number"
        case .bool: "boolean"
        case .string: "string"
        case .json: "object"
        }
    }

    /// The libffi type of the C value (`bool` is one byte; strings are pointers).
    var ffiType: UnsafeMutablePointer<ffi_type> {
        switch self {
        case .int32: aos_ffi_sint32()
        case .int64: aos_ffi_sint64()
        case .uint32: aos_ffi_uint32()
        case .uint64: aos_ffi_uint64()
        case .double: aos_ffi_double()
        case .float: aos_ffi_float()
        case .bool: aos_ffi_uint8()
        case .string, .json: aos_ffi_pointer()
        }
    }
}
