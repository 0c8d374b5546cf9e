import CAgentOSKit

/// A parameter of a tool function: its JSON key and what it means to the model.
/// Its type is the closure's parameter type at the same position.
public struct Parameter<Value: ToolArgument>: Sendable {
    /// [A-Za-z_][A-Za-z0-9_]*, 1-63 bytes, unique in the tool.
    public var name: String
    public var description: String?

    public init(_ name: String, _ description: String? = nil) {
        self.name = name
        self.description = description
    }
}

/// One function of a `ToolPlugin`: a name, a description for the model, typed
/// parameters, and the Swift closure the kernel calls with checked arguments.
///
///     Tool("convert", "Convert a length.", Parameter<Double>("value"), Parameter<String>("from"),
///          Parameter<String>("to")) { value, from, to in try convert(value, from, to) }
public struct Tool: Sendable {
    struct ParameterInfo: Sendable {
        var name: String
        var type: UInt32
        var required: Bool
        var description: String?
    }

    let name: String
    let description: String
    let threadSafe: Bool
    let needsApproval: Bool
    let parameters: [ParameterInfo]
    let returns: UInt32
    /// Calls the closure with the C arguments libffi hands over and stores its C result.
    let invoke: @Sendable (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer) throws -> Void

    /// A tool named `name` ([A-Za-z0-9_-], 1-63 bytes; callers use "INSTANCE.name")
    /// whose closure takes the `parameters`' types in order (at most 16).
    /// `threadSafe`: the closure may run on several callers' threads at once.
    /// `needsApproval`: a call the model makes in a tool loop waits for the
    /// operator (`agentctl runs approve|reject`); needs a kernel of ABI 1.11 or later.
    public init<each Argument: ToolArgument, Result: ToolResult>(
        _ name: String, _ description: String, threadSafe: Bool = false, needsApproval: Bool = false,
        _ parameters: repeat Parameter<each Argument>,
        body: @escaping @Sendable (repeat each Argument) throws -> Result
    ) {
        var infos: [ParameterInfo] = []
        for parameter in repeat each parameters {
            infos.append(Self.info(parameter))
        }
        self.name = name
        self.description = description
        self.threadSafe = threadSafe
        self.needsApproval = needsApproval
        self.parameters = infos
        returns = Result._aosType
        invoke = { arguments, result in
            var index = 0
            func next<Value: ToolArgument>(_: Value.Type) -> Value {
                defer { index += 1 }
                return Value._aosLoad(UnsafeRawPointer(arguments[index]!))
            }
            try body(repeat next((each Argument).self))._aosStore(result)
        }
    }

    private static func info<Value>(_ parameter: Parameter<Value>) -> ParameterInfo {
        ParameterInfo(name: parameter.name, type: Value._aosType, required: Value._aosRequired, description: parameter.description)
    }
}
