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
