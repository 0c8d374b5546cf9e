import ControlAPI
import Foundation

/// Durable runs: `agentctl runs ls|show|cancel|approve|reject`.
extension ControlClient {
    /// Runs of `agent`, or of every agent, newest first.
    public func runs(agent: String? = nil) async throws -> [RunSummaryInfo] {
        let list: RunList = try await call(.GET, "/v1/runs" + (agent.map { "?agent=" + queryValue($0) } ?? ""))
        return list.runs
    }

    /// One run's request, steps and outcome.
    public func run(id: String) async throws -> RunDetail {
        try await call(.GET, "/v1/runs/\(pathSegment(id))")
    }

    /// Decides on the call run `id` waits for: approved, it runs; rejected, the model reads why.
    public func decideRun(id: String, approve: Bool, comment: String?) async throws -> RunSummaryInfo {
        try await call(.POST, "/v1/runs/\(pathSegment(id))/\(approve ? "approve" : "reject")", body: RunDecision(comment: comment))
    }

    /// Cancels a running run; returns it as it was when cancelled.
    public func cancelRun(id: String) async throws -> RunSummaryInfo {
        try await call(.DELETE, "/v1/runs/\(pathSegment(id))")
    }
}
