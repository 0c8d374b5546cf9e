import ControlAPI
import Foundation
import Hummingbird
import StrictJSON

/// Responses in the control API's JSON conventions (`ControlJSON`).
enum JSONResponse {
    static func make<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try ControlJSON.encoder().encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// JSON a wire type wrote itself with a `JSONWriter` (`InstanceList`).
    static func make(written write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter()
        write(&writer)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: writer.bytes))
        )
    }

    /// `{"error":{"code","message"}}` with `status`.
    static func error(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        let data = (try? ControlJSON.encoder().encode(ErrorBody(code: code, message: message))) ?? Data()
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// Decodes a JSON request body of at most `limit` bytes.
    /// Throws `HTTPError` 413 past the limit (before reading a body whose declared
    /// length is past it) and `RequestError.badJSON` when it does not decode.
    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, limit: Int) async throws -> Value {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw HTTPError(.contentTooLarge)
        }
        let body = try await request.body.collect(upTo: limit)
        do {
            return try ControlJSON.decoder().decode(type, from: body)
        } catch {
            throw RequestError.badJSON(String(describing: Value.self), error)
        }
    }
}

/// A request the control API cannot act on.
enum RequestError: Error {
    case badJSON(String, Error)
    case badQuery(String)

    var message: String {
        switch self {
        case .badJSON(let type, let error): "body is not a valid \(type): \(JSONDecodeProblem.describe(error))"
        case .badQuery(let what): what
        }
    }
}

/// Short, human descriptions of `DecodingError`s.
enum JSONDecodeProblem {
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "bad value at \(path(context.codingPath))"
        case .keyNotFound(let key, _):
            return "missing field \"\(key.stringValue.snakeCased)\""
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\" should be \(type)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.stringValue.snakeCased }.joined(separator: ".")
    }
}

extension String {
    fileprivate var snakeCased: String {
        unicodeScalars.reduce(into: "") { result, scalar in
            if CharacterSet.uppercaseLetters.contains(scalar) {
                result += "_" + String(scalar).lowercased()
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
}
