import ControlServer
import Hummingbird
import KernelCore
import StrictJSON

/// An error of the OpenAI-compatible API, in OpenAI's shape:
/// `{"error":{"message","type","param","code"}}` with its HTTP status.
struct OpenAIError: Error {
    let status: HTTPResponse.Status
    let type: String
    let message: String
    /// The request parameter at fault ("messages[1].role"), when one is.
    let param: String?
    let code: String?

    /// 400: a parameter is missing, malformed, unknown or unsupported.
    static func invalid(_ message: String, param: String?, code: String = "invalid_value") -> OpenAIError {
        OpenAIError(status: .badRequest, type: "invalid_request_error", message: message, param: param, code: code)
    }

    /// 400: a parameter the kernel does not support (never silently ignored).
    static func unsupported(_ param: String, _ why: String) -> OpenAIError {
        invalid("\(param) is not supported: \(why)", param: param, code: "unsupported_parameter")
    }

    /// 401: no key, or one the kernel does not know (wrong or revoked).
    static func unauthorized(_ message: String) -> OpenAIError {
        OpenAIError(status: .unauthorized, type: "authentication_error", message: message, param: nil, code: "invalid_api_key")
    }

    /// 403: the key lacks the capability.
    static func forbidden(_ message: String) -> OpenAIError {
        OpenAIError(status: .forbidden, type: "permission_error", message: message, param: nil, code: "insufficient_permissions")
    }

    /// 404: no such model (or agent).
    static func modelNotFound(_ message: String) -> OpenAIError {
        OpenAIError(status: .notFound, type: "invalid_request_error", message: message, param: "model", code: "model_not_found")
    }

    /// A kernel error, with the status the control API gives its code.
    init(_ error: KernelError, param: String? = nil) {
        let status = error.code.httpStatus
        let type: String =
            switch status {
            case .badRequest, .notFound, .contentTooLarge, .unprocessableContent, .conflict: "invalid_request_error"
            case .forbidden: "permission_error"
            case .tooManyRequests: "rate_limit_error"
            default: "server_error"
            }
        self.init(status: status, type: type, message: error.message, param: param, code: error.code.rawValue)
    }

    init(status: HTTPResponse.Status, type: String, message: String, param: String?, code: String?) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
    }

    /// The error object (also the payload of a stream's error event).
    var json: JSONValue {
        .object([
            ("error", .object([
                ("message", .string(message)), ("type", .string(type)),
                ("param", param.map(JSONValue.string) ?? .null), ("code", code.map(JSONValue.string) ?? .null),
            ])),
        ])
    }

    var response: Response {
        OpenAIResponse.json(json, status: status)
    }
}

/// JSON and server-sent-event bodies of the OpenAI-compatible API.
enum OpenAIResponse {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter()
        writer.write(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }

    /// One server-sent event: `data: JSON` and a blank line.
    static func event(_ value: JSONValue) -> ByteBuffer {
        var writer = JSONWriter()
        writer.write(value)
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(writer.bytes)
        buffer.writeString("\n\n")
        return buffer
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")
}
