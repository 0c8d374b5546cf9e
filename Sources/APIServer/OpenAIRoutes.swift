import Foundation
import Hummingbird
import KernelCore
import NIOCore
import StrictJSON

/// The OpenAI-compatible API on `agentosd --api-addr`:
///
///     GET  /v1/models                the engine's model and the agents the key may reach (`agent:NAME`)
///     GET  /v1/models/ID
///     POST /v1/chat/completions      ChatCompletionRequest → chat.completion, or server-sent chunks with stream
///     POST /v1/responses             text in, text out (the Responses API's core)
///     POST /mcp                      the kernel's tools over MCP (`MCPRoute`)
///
/// Every route needs `Authorization: Bearer KEY` (`agentctl keys create`);
/// the key is the principal whose capabilities and quotas apply. Errors are
/// in OpenAI's shape (`OpenAIError`).
public enum OpenAIRoutes {
    /// The routes; `version` is the daemon's, which MCP's `initialize` reports.
    public static func router(kernel: Kernel, keys: APIKeyStore, version: String) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIErrorMiddleware(bodyLimit: bodyLimit(kernel)))
        let api = OpenAIAPI(kernel: kernel, keys: keys, bodyLimit: bodyLimit(kernel))
        let v1 = router.group("v1")
        v1.get("models") { request, _ in
            let key = try api.authenticate(request)
            let created = Int64(kernel.startedAt.timeIntervalSince1970)
            let data = api.modelIDs(for: key).map { OpenAIAPI.model($0, created: created) }
            return OpenAIResponse.json(.object([("object", .string("list")), ("data", .array(data))]))
        }
        v1.get("models/:id") { request, context in
            let key = try api.authenticate(request)
            let id = try context.parameters.require("id")
            guard api.modelIDs(for: key).contains(id) else { throw api.unknownModel(id) }
            return OpenAIResponse.json(OpenAIAPI.model(id, created: Int64(kernel.startedAt.timeIntervalSince1970)))
        }
        v1.post("chat/completions") { request, _ in
            let key = try api.authenticate(request)
            let chat = try ChatCompletionRequest(parsing: try await api.body(of: request))
            return try await ChatCompletion(api: api, key: key, request: chat, sessionHeader: request.headers[AgentSession.header]).respond()
        }
        v1.post("responses") { request, _ in
            let key = try api.authenticate(request)
            let body = try ResponsesRequest(parsing: try await api.body(of: request))
            return try await body.respond(api: api, key: key, sessionHeader: request.headers[AgentSession.header])
        }
        MCPRoute.add(to: router, api: api, version: version)
        return router
    }

    /// Largest request body: a maximal message, JSON-escaped, with room to spare (as the control API).
    static func bodyLimit(_ kernel: Kernel) -> Int { kernel.configuration.maxMessageBytes * 6 + 64 * 1024 }
}

/// What every route of the API shares: the kernel, the keys and the checks.
struct OpenAIAPI: Sendable {
    let kernel: Kernel
    let keys: APIKeyStore
    let bodyLimit: Int

    /// The key named by `Authorization: Bearer KEY`. Throws 401 without one or for one the kernel does not know.
    func authenticate(_ request: Request) throws(OpenAIError) -> APIKey {
        guard let header = request.headers[.authorization] else {
            throw .unauthorized("no API key: send Authorization: Bearer KEY (create one with `agentctl keys create NAME --grant infer`)")
        }
        guard header.hasPrefix("Bearer "), let key = keys.key(forSecret: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            audit(nil, "api", reason: "an unknown or revoked API key was presented")
            throw .unauthorized("invalid API key: unknown or revoked (see `agentctl keys ls`)")
        }
        return key
    }

    /// The body as JSON. Throws 413 past `bodyLimit`, 400 for malformed JSON.
    func body(of request: Request) async throws -> JSONValue {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > bodyLimit {
            throw HTTPError(.contentTooLarge)
        }
        let buffer = try await request.body.collect(upTo: bodyLimit)
        do {
            return try buffer.readableBytesView.withContiguousStorageIfAvailable { bytes throws(JSONSyntaxError) in
                try JSONParser.parse(bytes)
            } ?? JSONParser.parse(String(buffer: buffer))
        } catch {
            throw OpenAIError.invalid("malformed JSON: \(error)", param: nil, code: "invalid_json")
        }
    }

    /// The model id of the kernel's engine: the model file's name without `.gguf`, or the remote server's model.
    var engineModel: String? {
        guard let info = kernel.inference.engine?.info else { return nil }
        let name = URL(fileURLWithPath: info.model).lastPathComponent
        return info.kind == "llama.cpp" && name.hasSuffix(".gguf") ? String(name.dropLast(5)) : info.model
    }

    /// The models `key` may use: the engine's (with `infer`) and each running agent it may send to.
    func modelIDs(for key: APIKey) -> [String] {
        var ids: [String] = []
        if key.mayInfer, let engineModel { ids.append(engineModel) }
        for summary in kernel.summaries(all: false) where key.maySend(to: summary.name) {
            ids.append("agent:\(summary.name)")
        }
        return ids
    }

    func unknownModel(_ id: String) -> OpenAIError {
        .modelNotFound("the model \(id.prefix(80)) does not exist or this key cannot use it (see GET /v1/models)")
    }

    /// What `model` names: the engine, or a running agent. Checks the key's
    /// capability (403, audited) and that the target exists (404).
    func target(_ model: String, for key: APIKey, action: String) throws(OpenAIError) -> ChatTarget {
        if model.hasPrefix("agent:") {
            let name = String(model.dropFirst(6))
            guard key.maySend(to: name) else {
                audit(key, action, capability: "send:\(name)", reason: "\(key.principal) does not hold send:\(name)")
                throw .forbidden("this key may not talk to agent \(name.prefix(64)) (it needs send:\(name.prefix(64)))")
            }
            guard kernel.instance(named: name) != nil else {
                throw .modelNotFound("agent \(name.prefix(64)) is not running (see `agentctl ps`)")
            }
            return .agent(name)
        }
        guard model == engineModel else { throw unknownModel(model) }
        guard key.mayInfer else {
            audit(key, action, capability: "infer", reason: "\(key.principal) does not hold infer")
            throw .forbidden("this key may not use the model (it needs infer)")
        }
        return .engine
    }

    func audit(_ key: APIKey?, _ action: String, capability: String? = nil, reason: String) {
        kernel.capabilities.audit?.record(AuditRecord(
            agent: key?.principal, syscall: action, capability: capability, decision: .deny, reason: reason))
    }

    static func model(_ id: String, created: Int64) -> JSONValue {
        .object([("id", .string(id)), ("object", .string("model")), ("created", .integer(created)), ("owned_by", .string("agentos"))])
    }
}

/// What a request's `model` names.
enum ChatTarget {
    case engine
    case agent(String)
}

/// Turns every failure into OpenAI's error shape.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            return error.response
        } catch let error as KernelError {
            return OpenAIError(error).response
        } catch is NIOTooManyBytesError {
            return tooLarge.response
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return OpenAIError(status: .notFound, type: "invalid_request_error", message: "no route \(request.method) \(request.uri.path)", param: nil, code: "unknown_url").response
            case .contentTooLarge: return tooLarge.response
            default: return OpenAIError(status: error.status, type: "invalid_request_error", message: error.body ?? error.status.reasonPhrase, param: nil, code: nil).response
            }
        } catch {
            context.logger.error("API request failed", metadata: ["error": "\(error)"])
            return OpenAIError(status: .internalServerError, type: "server_error", message: "internal error: \(error)", param: nil, code: "internal").response
        }
    }

    private var tooLarge: OpenAIError {
        OpenAIError(status: .contentTooLarge, type: "invalid_request_error", message: "request body is larger than \(bodyLimit) bytes (6 × --max-message-bytes + 64 KiB)", param: nil, code: "request_too_large")
    }
}
