/// A kernel operation that failed, with a stable code and one line for the user.
///
/// `code` is what the control API puts in `{"error":{"code"}}` and scripts
/// match on; `message` says what happened and, where it helps, what to do.
/// This list is the one error table: `status` maps every code to what a plugin
/// sees, the control server maps every code to an HTTP status, and the wire's
/// `ErrorCode` (ControlAPI) is tested against it.
public struct KernelError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        // Loading a file
        case fileNotFound = "file_not_found"
        case notRegularFile = "not_regular_file"
        case notELF = "not_elf"
        case wrongClass = "wrong_elf_class"
        case wrongArchitecture = "wrong_architecture"
        case notSharedObject = "not_shared_object"
        case truncated
        case noDescriptor = "no_descriptor"
        case dlopenFailed = "dlopen_failed"
        case badMagic = "bad_magic"
        case abiMismatch = "abi_mismatch"
        case buildMismatch = "build_mismatch"
        case runtimeMismatch = "runtime_mismatch"
        case structTooSmall = "struct_too_small"
        case structTooLarge = "struct_too_large"
        case badDescriptor = "bad_descriptor"
        case initFailed = "init_failed"
        // Names and instances
        case badName = "bad_name"
        case nameTaken = "name_taken"
        case notFound = "not_found"
        case hung
        // Messages (named after the aos_status they carry)
        case invalidArgument = "invalid_argument"
        case full
        case timedOut = "timed_out"
        case stopping
        case tooBig = "too_big"
        case handlerFailed = "handler_failed"
        case crashed
        case `internal`
        // Inference
        case promptTooLong = "prompt_too_long"
        case invalidGrammar = "invalid_grammar"
        case invalidSchema = "invalid_schema"
        case cancelled
        case engineUnavailable = "engine_unavailable"
        case engineFailed = "engine_failed"
        // Tools
        case unsupportedToolType = "unsupported_tool_type"
        case duplicateTool = "duplicate_tool"
        case missingToolFunction = "missing_tool_function"
        case badTool = "bad_tool"
        case toolNotFound = "tool_not_found"
        case invalidToolArguments = "invalid_tool_arguments"
        case toolFailed = "tool_failed"
        case toolStepLimit = "tool_step_limit"
        /// A tool call was required (tool_choice required) and the model answered without one.
        case toolCallMissing = "tool_call_missing"
        case toolLoop = "tool_loop"
        // Capabilities and quotas
        case permissionDenied = "permission_denied"
        case quotaExceeded = "quota_exceeded"
        case badPolicy = "bad_policy"
        // Storage
        case conflict
        case storageUnavailable = "storage_unavailable"
        // The cluster
        case unreachable
        case ambiguous
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The status a plugin sees for this error (no `default`: a new code must say).
    public var status: AOSStatus {
        switch code {
        case .fileNotFound, .notFound, .toolNotFound: .notFound
        case .notRegularFile, .notELF, .wrongClass, .wrongArchitecture, .notSharedObject, .truncated, .noDescriptor, .dlopenFailed,
             .badDescriptor, .unsupportedToolType, .duplicateTool, .missingToolFunction, .badTool:
            .invalidArgument
        case .badMagic, .abiMismatch, .buildMismatch, .runtimeMismatch, .structTooSmall, .structTooLarge: .abiMismatch
        case .initFailed, .handlerFailed: .handlerFailed
        case .crashed: .crashed
        case .badName, .invalidArgument, .invalidGrammar, .invalidSchema, .invalidToolArguments, .badPolicy:
            .invalidArgument
        case .nameTaken: .exists
        case .hung, .timedOut: .timedOut
        case .full: .full
        case .stopping: .stopping
        case .tooBig, .promptTooLong: .tooBig
        case .internal: .internal
        case .cancelled: .cancelled
        case .engineUnavailable, .engineFailed: .engineUnavailable
        case .toolFailed: .toolFailed
        case .toolStepLimit, .toolLoop, .toolCallMissing: .toolLoop
        case .permissionDenied: .permissionDenied
        case .quotaExceeded: .quotaExceeded
        case .conflict: .conflict
        case .storageUnavailable: .storageUnavailable
        case .unreachable: .unreachable
        case .ambiguous: .ambiguous
        }
    }
}

extension KernelError: Equatable {
    public static func == (lhs: KernelError, rhs: KernelError) -> Bool { lhs.code == rhs.code && lhs.message == rhs.message }
}
