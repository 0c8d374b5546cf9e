/// The error codes the control API returns in `{"error":{"code"}}`, one per distinct failure.
///
/// The `.kernel` codes are the kernel's own (`KernelError.Code` in KernelCore, same
/// case names and raw values): ControlAPI holds wire types only, so it cannot import
/// that list, and `ErrorTableTests` fails when a code is on one side only. The
/// `.server` codes are the control API's own: a request it cannot read, a route it
/// does not have, a feature that is off. Clients compare `rawValue` with the code
/// they received; a code they do not know may still arrive from a newer kernel, and
/// `http_<status>` arrives when an answer carried no error body.
public enum ErrorCode: String, CaseIterable, Sendable {
    // The control API's own (`.server`)
    case badRequest = "bad_request"
    case badJSON = "bad_json"
    case routeNotFound = "route_not_found"
    case bodyTooLarge = "body_too_large"
    /// The kernel records no feedback: its database could not be opened or written.
    case feedbackUnavailable = "feedback_unavailable"
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
    case toolLoop = "tool_loop"
    case toolCallMissing = "tool_call_missing"
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

    /// Who raises a code.
    public enum Source: Sendable {
        /// The kernel: a `KernelError.Code` with the same raw value.
        case kernel
        /// The control API's server itself, about the request or a feature of its own.
        case server
    }

    /// Who raises this code (no `default`: a new code must say).
    public var source: Source {
        switch self {
        case .badRequest, .badJSON, .routeNotFound, .bodyTooLarge, .feedbackUnavailable:
            .server
        case .fileNotFound, .notRegularFile, .notELF, .wrongClass, .wrongArchitecture, .notSharedObject, .truncated, .noDescriptor,
             .dlopenFailed, .badMagic, .abiMismatch, .buildMismatch, .runtimeMismatch, .structTooSmall, .structTooLarge, .badDescriptor, .initFailed,
             .badName, .nameTaken, .notFound, .hung,
             .invalidArgument, .full, .timedOut, .stopping, .tooBig, .handlerFailed, .crashed, .internal,
             .promptTooLong, .invalidGrammar, .invalidSchema, .cancelled, .engineUnavailable, .engineFailed,
             .unsupportedToolType, .duplicateTool, .missingToolFunction, .badTool, .toolNotFound,
             .invalidToolArguments, .toolFailed, .toolStepLimit, .toolLoop, .toolCallMissing,
             .permissionDenied, .quotaExceeded, .badPolicy, .conflict, .storageUnavailable, .unreachable, .ambiguous:
            .kernel
        }
    }
}
