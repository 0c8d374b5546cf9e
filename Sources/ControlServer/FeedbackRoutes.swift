import ControlAPI
import Feedback
import Foundation
import Hummingbird
import KernelCore
import Metrics

/// Whether the kernel records ratings: its feedback store, or why it has none
/// (a read-only or corrupt `$AGENTOS_HOME/feedback.sqlite` disables feedback,
/// never the kernel).
public enum FeedbackAvailability: Sendable {
    case enabled(FeedbackStore)
    case disabled(reason: String)
}

/// The feedback part of the control API: `agentctl feedback`.
///
///     POST /v1/feedback                                  FeedbackRequest → FeedbackEntry (201 new, 200 replaced)
///     GET  /v1/feedback/stats[?agent=NAME&since=SECONDS] → FeedbackStats
///     GET  /v1/feedback/export[?agent=NAME]              → JSON Lines of FeedbackEntry
///
/// Only answers still in `RecentAnswers` can be rated. With feedback
/// disabled, every route answers 503 `feedback_unavailable` with the reason.
/// Each rating counts in `agentos_feedback_total{agent,rating}`.
enum FeedbackRoutes {
    static func add(
        to v1: RouterGroup<BasicRequestContext>, feedback: FeedbackAvailability, answers: RecentAnswers, kernelStartedAt: Date,
        bodyLimit: Int
    ) {
        let kernelRun = Int64(kernelStartedAt.timeIntervalSince1970 * 1000)
        v1.post("feedback") { request, context in
            guard case .enabled(let store) = feedback else { return unavailable(feedback) }
            let body = try await JSONResponse.decode(FeedbackRequest.self, from: request, limit: bodyLimit)
            guard let rating = Rating(rawValue: body.rating) else {
                throw KernelError(.invalidArgument, "rating must be up or down, not \(body.rating)")
            }
            guard let answer = answers.answer(to: body.requestId) else {
                throw KernelError(
                    .notFound,
                    "no answer with request id \(body.requestId): rate answers from `agentctl send --wait` while the kernel that gave them runs")
            }
            let record = FeedbackRecord(
                requestID: body.requestId, kernelRun: kernelRun,
                agent: answer.agent, question: answer.question, answer: answer.answer,
                rating: rating, comment: body.comment.flatMap { $0.isEmpty ? nil : $0 })
            let outcome: RecordOutcome
            do {
                outcome = try await store.record(record)
            } catch {
                return failed(error, doing: "record the rating", context: context)
            }
            Counter(label: MetricName.feedback, dimensions: [("agent", answer.agent), ("rating", rating.rawValue)]).increment()
            return try JSONResponse.make(FeedbackEntry(record), status: outcome == .added ? .created : .ok)
        }

        v1.get("feedback/stats") { request, context in
            guard case .enabled(let store) = feedback else { return unavailable(feedback) }
            let agent = request.uri.queryParameters.get("agent")
            let since = try request.integer("since", in: 0...100_000_000)
            let stats: [AgentSatisfaction]
            do {
                stats = try await store.stats(agent: agent, since: since.map { Date().addingTimeInterval(-Double($0)) })
            } catch {
                return failed(error, doing: "read the ratings", context: context)
            }
            return try JSONResponse.make(FeedbackStats(
                agents: stats.map {
                    AgentFeedbackStats(agent: $0.agent, count: $0.count, up: $0.up, down: $0.down, satisfactionRate: $0.satisfactionRate)
                },
                sinceSeconds: since))
        }

        v1.get("feedback/export") { request, context in
            guard case .enabled(let store) = feedback else { return unavailable(feedback) }
            let agent = request.uri.queryParameters.get("agent")
            let logger = context.logger
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson"],
                body: ResponseBody { writer in
                    let encoder = ControlJSON.encoder()
                    do {
                        try await store.export(agent: agent) { page in
                            var lines = Data()
                            for record in page {
                                lines.append(try encoder.encode(FeedbackEntry(record)))
                                lines.append(UInt8(ascii: "\n"))
                            }
                            try await writer.write(ByteBuffer(bytes: lines))
                        }
                    } catch {
                        // The status is sent: ending the body early tells the client the export is incomplete.
                        logger.error("feedback export failed", metadata: ["error": "\(error)"])
                        throw error
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// 503 with why feedback is off.
    private static func unavailable(_ feedback: FeedbackAvailability) -> Response {
        let reason = if case .disabled(let reason) = feedback { reason } else { "unknown" }
        return JSONResponse.error(.serviceUnavailable, code: ErrorCode.feedbackUnavailable.rawValue, message: "feedback is disabled: \(reason)")
    }

    /// 503 for a store that failed after a good start (disk full, file made read-only).
    private static func failed(_ error: Error, doing what: String, context: BasicRequestContext) -> Response {
        context.logger.error("feedback failed", metadata: ["error": "\(error)"])
        return JSONResponse.error(.serviceUnavailable, code: ErrorCode.feedbackUnavailable.rawValue, message: "cannot \(what): \(error)")
    }
}

extension FeedbackEntry {
    init(_ record: FeedbackRecord) {
        self.init(
            requestId: record.requestID, agent: record.agent, question: record.question, answer: record.answer,
            rating: record.rating == .up ? .up : .down, comment: record.comment,
            createdAt: record.createdAt)
    }
}
