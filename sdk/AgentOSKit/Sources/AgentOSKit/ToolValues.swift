import CAgentOSKit
import Glibc

/// A Swift type a tool function may take: `Int32`, `Int64`, `Int`, `UInt32`,
/// `UInt64`, `Double`, `Float`, `Bool`, `String`, and `String?` (an optional
/// parameter: nil when the caller leaves it out). AgentOSKit conforms exactly
/// these, the types the kernel passes (AOS_TYPE_*): a parameter of another type
/// does not compile. The underscored members are the ABI's, not for plugins.
public protocol ToolArgument: Sendable {
    /// AOS_TYPE_* of the C argument.
    static var _aosType: UInt32 { get }
    /// Whether callers must give it.
    static var _aosRequired: Bool { get }
    /// The value from the C argument libffi points at.
    static func _aosLoad(_ argument: UnsafeRawPointer) -> Self
}

extension ToolArgument {
    public static var _aosRequired: Bool { true }
}

/// A Swift type a tool function may return: the `ToolArgument` types but
/// `String?`, and `JSON` (a JSON text returned as it is).
public protocol ToolResult: Sendable {
    /// AOS_TYPE_* of the C result.
    static var _aosType: UInt32 { get }
    /// Stores the value as the C function's result; libffi wants integers
    /// narrower than a register widened to one. Strings are copied with strdup.
    func _aosStore(_ result: UnsafeMutableRawPointer)
}

/// A tool result that is already JSON (an object, an array), passed to the caller as it is.
public struct JSON: ToolResult, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public static var _aosType: UInt32 { AOS_TYPE_JSON }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: strdup(text), as: UnsafeMutablePointer<CChar>?.self) }
}

extension Int32: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_INT32 }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> Int32 { argument.load(as: Int32.self) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: Int64(self), as: Int64.self) }
}

extension Int64: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_INT64 }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> Int64 { argument.load(as: Int64.self) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: self, as: Int64.self) }
}

extension Int: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_INT64 }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> Int { Int(argument.load(as: Int64.self)) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: Int64(self), as: Int64.self) }
}

extension UInt32: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_UINT32 }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> UInt32 { argument.load(as: UInt32.self) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: UInt64(self), as: UInt64.self) }
}

extension UInt64: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_UINT64 }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> UInt64 { argument.load(as: UInt64.self) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: self, as: UInt64.self) }
}

extension Double: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_DOUBLE }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> Double { argument.load(as: Double.self) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: self, as: Double.self) }
}

extension Float: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_FLOAT }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> Float { argument.load(as: Float.self) }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: self, as: Float.self) }
}

extension Bool: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_BOOL }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> Bool { argument.load(as: UInt8.self) != 0 }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: UInt64(self ? 1 : 0), as: UInt64.self) }
}

extension String: ToolArgument, ToolResult {
    public static var _aosType: UInt32 { AOS_TYPE_STRING }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> String {
        argument.load(as: UnsafePointer<CChar>?.self).map { String(cString: $0) } ?? ""
    }
    public func _aosStore(_ result: UnsafeMutableRawPointer) { result.storeBytes(of: strdup(self), as: UnsafeMutablePointer<CChar>?.self) }
}

extension Optional: ToolArgument where Wrapped == String {
    public static var _aosType: UInt32 { AOS_TYPE_STRING }
    public static var _aosRequired: Bool { false }
    public static func _aosLoad(_ argument: UnsafeRawPointer) -> String? {
        argument.load(as: UnsafePointer<CChar>?.self).map { String(cString: $0) }
    }
}
