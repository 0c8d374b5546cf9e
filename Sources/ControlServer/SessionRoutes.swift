import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The sessions part of the control API: `agentctl sessions`. The operator
/// sees and deletes any agent's sessions.
///
///     GET    /v1/sessions[?agent=NAME]      → SessionList
///     GET    /v1/sessions/AGENT/ID          → SessionDetail (404 not_found)
///     DELETE /v1/sessions/AGENT/ID          → SessionSummaryInfo of the deleted session (409 while it answers)
///
/// Without a usable state database every route is 503 `storage_unavailable` with the reason.
enum SessionRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel) {
        let sessions = kernel.sessions

        v1.get("sessions") { request, _ in
            let agent = request.uri.queryParameters.get("agent")
            return try JSONResponse.make(SessionList(sessions: try sessions.list(agent: agent).map(Self.info)))
        }

        v1.get("sessions/:agent/:id") { _, context in
            let (agent, id) = try Self.names(context)
            return try JSONResponse.make(Self.detail(try sessions.show(agent: agent, session: id)))
        }

        v1.delete("sessions/:agent/:id") { _, context in
            let (agent, id) = try Self.names(context)
            let info = try sessions.show(agent: agent, session: id).info
            try sessions.delete(agent: agent, session: id)
            return try JSONResponse.make(Self.info(info))
        }
    }

    /// The path's agent and session id, percent-decoded (the router leaves them encoded).
    private static func names(_ context: BasicRequestContext) throws -> (String, String) {
        let agent = try context.parameters.require("agent")
        let id = try context.parameters.require("id")
        return (agent.removingPercentEncoding ?? agent, id.removingPercentEncoding ?? id)
    }

    static func info(_ info: SessionInfo) -> SessionSummaryInfo {
        SessionSummaryInfo(
            agent: info.agent, id: info.id, policy: info.policy.rawValue, turns: info.turns, cutTurns: info.cutTurns,
            prunedTurns: info.prunedTurns, cuts: info.cuts, createdAt: time(info.createdAt), updatedAt: time(info.updatedAt))
    }

    static func detail(_ transcript: SessionTranscript) -> SessionDetail {
        SessionDetail(
            session: info(transcript.info), summary: transcript.summary, cutThrough: transcript.cutThrough,
            turns: transcript.turns.map { turn in
                SessionTurnInfo(
                    seq: turn.seq, role: turn.message.role, content: turn.message.content,
                    toolCalls: turn.message.toolCalls?.map { .init(id: $0.id, name: $0.name, arguments: $0.arguments) },
                    toolCallId: turn.message.toolCallID, tokens: turn.tokens, inPrompt: turn.seq > transcript.cutThrough,
                    at: time(turn.at))
            },
            cuts: transcript.cuts.map { cut in
                SessionCutInfo(
                    fromSeq: cut.fromSeq, throughSeq: cut.throughSeq, turns: cut.turns, kind: cut.kind.rawValue, summary: cut.summary,
                    reason: cut.reason, at: time(cut.at))
            })
    }

    /// Unix milliseconds as RFC 3339 with milliseconds, UTC.
    private static func time(_ milliseconds: Int64) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
