/// The body of every failed control request: `{"error":{"code","message"}}`.
///
/// `code` is a stable snake_case identifier scripts can match on (see
/// `ErrorCode`); `message` is one human line saying what and what next.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }
    public var error: Detail

    public init(code: String, message: String) {
        self.error = Detail(code: code, message: message)
    }
}

/// The error codes the control API returns, one per distinct failure.
public enum ErrorCode {
    // Requests
    public static let badRequest = "bad_request"
    public static let badJSON = "bad_json"
    public static let routeNotFound = "route_not_found"
    public static let bodyTooLarge = "body_too_large"
    // Loading
    public static let fileNotFound = "file_not_found"
    public static let notRegularFile = "not_regular_file"
    public static let notELF = "not_elf"
    public static let wrongClass = "wrong_elf_class"
    public static let wrongArchitecture = "wrong_architecture"
    public static let notSharedObject = "not_shared_object"
    public static let truncated = "truncated"
    public static let noDescriptor = "no_descriptor"
    public static let dlopenFailed = "dlopen_failed"
    public static let badMagic = "bad_magic"
    public static let abiMismatch = "abi_mismatch"
    public static let buildMismatch = "build_mismatch"
    public static let structTooSmall = "struct_too_small"
    public static let structTooLarge = "struct_too_large"
    public static let badDescriptor = "bad_descriptor"
    public static let badName = "bad_name"
    public static let nameTaken = "name_taken"
    public static let initFailed = "init_failed"
    // Instances and messages (the names of aos_status, lower-cased)
    public static let notFound = "not_found"
    public static let full = "full"
    public static let timedOut = "timed_out"
    public static let stopping = "stopping"
    public static let tooBig = "too_big"
    public static let hung = "hung"
    public static let handlerFailed = "handler_failed"
    public static let `internal` = "internal"
    // Inference
    public static let promptTooLong = "prompt_too_long"
    public static let invalidGrammar = "invalid_grammar"
    public static let invalidSchema = "invalid_schema"
    public static let cancelled = "cancelled"
    public static let engineUnavailable = "engine_unavailable"
    public static let engineFailed = "engine_failed"
}
