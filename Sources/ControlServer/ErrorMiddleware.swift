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
            return JSONResponse.error(error.code.httpStatus, code: error.code.rawValue, message: error.message)
        } catch let error as RequestError {
            let code: ErrorCode = if case .badJSON = error { .badJSON } else { .badRequest }
            return JSONResponse.error(.badRequest, code: code.rawValue, message: error.message)
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(.contentTooLarge, code: ErrorCode.bodyTooLarge.rawValue, message: "request body is larger than the control API accepts (\(ControlRoutes.bodyLimitDescription))")
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return JSONResponse.error(.notFound, code: ErrorCode.routeNotFound.rawValue, message: "no route \(request.method) \(request.uri.path) (see `agentctl --help`)")
            case .contentTooLarge:
                return JSONResponse.error(.contentTooLarge, code: ErrorCode.bodyTooLarge.rawValue, message: "request body is larger than the control API accepts (\(ControlRoutes.bodyLimitDescription))")
            default:
                return JSONResponse.error(error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
            }
        } catch {
            context.logger.error("control request failed", metadata: ["error": "\(error)"])
            return JSONResponse.error(.internalServerError, code: ErrorCode.internal.rawValue, message: "internal error: \(error)")
        }
    }
}

extension KernelError.Code {
    /// The HTTP status the control API answers this code with (no `default`: a new code must say).
    public var httpStatus: HTTPResponse.Status {
        switch self {
        case .fileNotFound, .notFound: .notFound
        case .notRegularFile, .notELF, .wrongClass, .wrongArchitecture, .notSharedObject, .truncated, .noDescriptor,
             .dlopenFailed, .badMagic, .abiMismatch, .buildMismatch, .runtimeMismatch, .structTooSmall, .structTooLarge, .badDescriptor, .initFailed,
             .unsupportedToolType, .duplicateTool, .missingToolFunction, .badTool:
            .unprocessableContent
        case .toolNotFound: .notFound
        case .invalidToolArguments: .badRequest
        case .toolFailed, .toolStepLimit, .toolLoop, .toolCallMissing: .unprocessableContent
        case .badName, .invalidArgument, .invalidGrammar, .invalidSchema, .promptTooLong: .badRequest
        case .nameTaken: .conflict
        case .full, .stopping: .serviceUnavailable
        case .hung, .timedOut: .gatewayTimeout
        case .tooBig: .contentTooLarge
        case .handlerFailed, .crashed, .engineFailed: .badGateway
        case .engineUnavailable: .serviceUnavailable
        case .unreachable: .serviceUnavailable
        case .ambiguous: .conflict
        case .cancelled: .conflict
        case .permissionDenied: .forbidden
        case .quotaExceeded: .tooManyRequests
        case .badPolicy: .unprocessableContent
        case .conflict: .conflict
        case .storageUnavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
    }
}
