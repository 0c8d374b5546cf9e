import Foundation
import HTTPTypes
import Hummingbird
import KernelCore
import Synchronization

/// Mints control request ids: ctl-1, ctl-2, …
private let nextRequestID = Atomic<UInt64>(1)

/// Names every control request: the client's `X-Request-Id` when it sends a
/// sane one, else a minted `ctl-N`. The id goes back in the response's
/// `X-Request-Id`, into the request's log metadata, and into one log line per
/// request (method, path, status, duration), so one id finds the request in
/// the kernel's log. Changes are logged at info, reads at debug.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = request.headers[Self.header].flatMap(Self.sane) ?? "ctl-\(nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue)"
        var context = context
        context.logger[metadataKey: "request"] = "\(id)"
        let started = monotonicNanos()
        var response = try await next(request, context)
        response.headers[Self.header] = id
        let milliseconds = String(format: "%.1f", Double(monotonicNanos() &- started) / 1e6)
        context.logger.log(
            level: request.method == .get ? .debug : .info, "control request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
                "ms": "\(milliseconds)",
            ])
        return response
    }

    /// A client's id if it is 1-128 printable ASCII characters.
    private static func sane(_ id: String) -> String? {
        guard !id.isEmpty, id.utf8.count <= 128, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return id
    }
}
