import ControlAPI
import Foundation

/// Conversations: `agentctl sessions ls|show|rm`.
extension ControlClient {
    /// Sessions of `agent`, or of every agent.
    public func sessions(agent: String? = nil) async throws -> [SessionSummaryInfo] {
        let list: SessionList = try await call(.GET, "/v1/sessions" + (agent.map { "?agent=" + queryValue($0) } ?? ""))
        return list.sessions
    }

    /// One session's turns, cuts and summary.
    public func session(agent: String, id: String) async throws -> SessionDetail {
        try await call(.GET, "/v1/sessions/\(pathSegment(agent))/\(pathSegment(id))")
    }

    /// Deletes one session; returns what it held.
    public func deleteSession(agent: String, id: String) async throws -> SessionSummaryInfo {
        try await call(.DELETE, "/v1/sessions/\(pathSegment(agent))/\(pathSegment(id))")
    }
}
