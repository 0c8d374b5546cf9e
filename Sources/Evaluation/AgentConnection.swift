import ControlAPI
import ControlClient

/// How a run reaches the agent under test: the kernel's control API
/// (`KernelConnection`), or a stand-in in tests.
public protocol AgentConnection: Sendable {
    /// Throws an `EvaluationError` unless `target` is a running agent.
    func checkTarget(_ target: String) async throws
    /// Sends `input` to `target` as a request and waits up to `timeoutMs` for
    /// the reply. Throws `CaseFailure` when the case itself failed (no reply in
    /// time, the handler failed); any other error ends the whole run.
    func ask(_ target: String, _ input: String, timeoutMs: Int) async throws -> SendResponse
    /// The timeline of inference request `id`.
    func trace(_ id: UInt64) async throws -> RequestTraceInfo
}

/// A case's own failure to get an answer: it fails, and the run goes on.
public struct CaseFailure: Error, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// The kernel's control API: every input goes the way `agentctl send --wait` sends it.
public struct KernelConnection: AgentConnection {
    public let client: ControlClient

    public init(client: ControlClient = ControlClient()) {
        self.client = client
    }

    public func checkTarget(_ target: String) async throws {
        let instance: InstanceInfo
        do {
            instance = try await client.instance(target)
        } catch ControlClientError.api(_, ErrorCode.notFound.rawValue, _) {
            throw Self.noAgent(target)
        }
        guard instance.kind == "agent" else {
            throw EvaluationError("\(target) is a \(instance.kind) plugin, not an agent (see agentctl ps)")
        }
        guard instance.state == "running" else {
            throw EvaluationError("agent \(target) is \(instance.state), not running (see agentctl ps -a)")
        }
    }

    public func ask(_ target: String, _ input: String, timeoutMs: Int) async throws -> SendResponse {
        do {
            return try await client.send(target, SendRequest(text: input, wait: true, timeoutMs: UInt32(timeoutMs)))
        } catch ControlClientError.api(_, ErrorCode.timedOut.rawValue, _) {
            throw CaseFailure("no answer within \(timeoutMs) ms")
        } catch ControlClientError.api(_, let code, let message) where code == ErrorCode.handlerFailed.rawValue || code == ErrorCode.hung.rawValue {
            throw CaseFailure(message)
        } catch ControlClientError.api(_, ErrorCode.notFound.rawValue, _) {
            throw Self.noAgent(target)
        }
    }

    public func trace(_ id: UInt64) async throws -> RequestTraceInfo {
        try await client.trace(id)
    }

    private static func noAgent(_ name: String) -> EvaluationError {
        EvaluationError("no agent named \(name) is loaded (see agentctl ps)")
    }
}
