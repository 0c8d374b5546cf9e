import ControlAPI
import Hummingbird
import KernelCore
import NIOCore

/// Turns every failure into the control API's JSON error shape with a fitting
/// HTTP status: kernel errors, bad requests, unknown routes, oversize bodies.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as KernelError {
            return JSONResponse.error(Self.status(for: error.code), code: error.code.rawValue, message: error.message)
        } catch let error as RequestError {
            let code = if case .badJSON = error { "bad_json" } else { "bad_request" }
            return JSONResponse.error(.badRequest, code: code, message: error.message)
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(.contentTooLarge, code: "body_too_large", message: "request body is larger than the control API accepts (\(ControlRoutes.bodyLimitDescription))")
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return JSONResponse.error(.notFound, code: "route_not_found", message: "no route \(request.method) \(request.uri.path) (see `agentctl --help`)")
            case .contentTooLarge:
                return JSONResponse.error(.contentTooLarge, code: "body_too_large", message: "request body is larger than the control API accepts (\(ControlRoutes.bodyLimitDescription))")
            default:
                return JSONResponse.error(error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
            }
        } catch {
            context.logger.error("control request failed", metadata: ["error": "\(error)"])
            return JSONResponse.error(.internalServerError, code: "internal", message: "internal error: \(error)")
        }
    }

    static func status(for code: KernelError.Code) -> HTTPResponse.Status {
        switch code {
        case .fileNotFound, .notFound: .notFound
        case .notRegularFile, .notELF, .wrongClass, .wrongArchitecture, .notSharedObject, .truncated, .noDescriptor,
             .dlopenFailed, .badMagic, .abiMismatch, .buildMismatch, .structTooSmall, .structTooLarge, .badDescriptor, .initFailed,
             .unsupportedToolType, .duplicateTool, .missingToolFunction, .badTool:
            .unprocessableContent
        case .toolNotFound: .notFound
        case .invalidToolArguments: .badRequest
        case .toolFailed, .toolStepLimit, .toolLoop: .unprocessableContent
        case .badName, .invalidArgument, .invalidGrammar, .invalidSchema, .promptTooLong: .badRequest
        case .nameTaken: .conflict
        case .full, .stopping: .serviceUnavailable
        case .hung, .timedOut: .gatewayTimeout
        case .tooBig: .contentTooLarge
        case .handlerFailed, .engineFailed: .badGateway
        case .engineUnavailable: .serviceUnavailable
        case .cancelled: .conflict
        case .permissionDenied: .forbidden
        case .quotaExceeded: .tooManyRequests
        case .badPolicy: .unprocessableContent
        case .internal: .internalServerError
        }
    }
}
