import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The durable runs part of the control API: `agentctl runs`. The operator
/// sees and cancels any agent's runs.
///
///     GET    /v1/runs[?agent=NAME]   → RunList, newest first
///     GET    /v1/runs/ID             → RunDetail (404 not_found)
///     DELETE /v1/runs/ID             → RunSummaryInfo of the run cancelled (404 not_found, 409 conflict when it has ended)
///     POST   /v1/runs/ID/approve     {"comment"} → RunSummaryInfo: the call it waits for runs (409 when it waits for none)
///     POST   /v1/runs/ID/reject      {"comment"} → RunSummaryInfo: the model reads the rejection as the call's result
///
/// Without a usable state database every route is 503 `storage_unavailable` with the reason.
enum RunRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, bodyLimit: Int) {
        let runs = kernel.runs

        v1.get("runs") { request, _ in
            let agent = request.uri.queryParameters.get("agent")
            return try JSONResponse.make(RunList(runs: try runs.list(agent: agent).map(Self.info)))
        }

        v1.get("runs/:id") { _, context in
            try JSONResponse.make(Self.detail(try runs.show(id: try Self.id(context))))
        }

        v1.delete("runs/:id") { _, context in
            let id = try Self.id(context)
            let info = try runs.show(id: id).info
            guard !info.state.isFinal else {
                throw KernelError(.conflict, "run \(id) has already ended (\(info.state.rawValue))")
            }
            guard kernel.inference.cancelRun(id: id) else {
                throw KernelError(.conflict, "run \(id) is recorded as running but no tool loop \(id) runs in this kernel")
            }
            return try JSONResponse.make(Self.info(info))
        }

        v1.post("runs/:id/approve") { request, context in
            try await decide(request, context, approve: true, kernel: kernel, bodyLimit: bodyLimit)
        }

        v1.post("runs/:id/reject") { request, context in
            try await decide(request, context, approve: false, kernel: kernel, bodyLimit: bodyLimit)
        }
    }

    /// `approve` and `reject`: 404 for an unknown run, 409 for one that waits for no approval.
    private static func decide(
        _ request: Request, _ context: BasicRequestContext, approve: Bool, kernel: Kernel, bodyLimit: Int
    ) async throws -> Response {
        let id = try Self.id(context)
        let decision = try await JSONResponse.decode(RunDecision.self, from: request, limit: bodyLimit)
        let info = try kernel.runs.show(id: id).info
        guard info.state == .awaitingApproval else {
            throw KernelError(.conflict, "run \(id) is not awaiting approval (it is \(info.state.rawValue))")
        }
        guard kernel.inference.decideRun(id: id, approve: approve, comment: decision.comment) else {
            throw KernelError(.conflict, "run \(id) is recorded as awaiting approval but no tool loop \(id) waits in this kernel")
        }
        return try JSONResponse.make(Self.info(try kernel.runs.show(id: id).info))
    }

    private static func id(_ context: BasicRequestContext) throws -> UInt64 {
        let raw = try context.parameters.require("id")
        guard let id = UInt64(raw) else { throw KernelError(.notFound, "no run \(raw.prefix(40)): run ids are numbers (see `agentctl runs ls`)") }
        return id
    }

    static func info(_ info: RunInfo) -> RunSummaryInfo {
        RunSummaryInfo(
            id: info.id, agent: info.agent, reply: info.reply.rawValue, session: info.session, state: info.state.rawValue,
            steps: info.steps, error: info.error.map { .init(code: $0.code.rawValue, message: $0.message) },
            createdAt: time(info.createdAt), updatedAt: time(info.updatedAt))
    }

    static func detail(_ record: RunRecord) -> RunDetail {
        RunDetail(
            run: info(record.info), messages: record.request.messages.map { RunMessage(role: $0.role, content: $0.content) },
            tools: record.request.tools.map(\.name), maxSteps: record.request.maxSteps,
            steps: record.steps.enumerated().map { index, step in
                switch step {
                case .model(let text, let calls, let usage):
                    var step = RunStepInfo(seq: index + 1, kind: "model", text: text, calls: calls.map(Self.call))
                    step.promptTokens = usage.promptTokens
                    step.cachedPromptTokens = usage.cachedPromptTokens
                    step.completionTokens = usage.completionTokens
                    return step
                case .tool(let call, let outcome, let nanos):
                    var step = RunStepInfo(seq: index + 1, kind: "tool", call: Self.call(call), durationMs: Double(nanos) / 1e6)
                    switch outcome {
                    case .success(let json): step.result = json
                    case .failure(let error): step.error = .init(code: error.code.rawValue, message: error.message)
                    }
                    return step
                }
            },
            awaiting: record.info.state == .awaitingApproval ? record.unansweredCall.map(Self.call) : nil, answer: record.answer)
    }

    private static func call(_ call: ToolCallRequest) -> ToolStepCall {
        ToolStepCall(id: call.id, name: call.name, arguments: call.arguments)
    }

    /// Unix milliseconds as RFC 3339 with milliseconds, UTC.
    private static func time(_ milliseconds: Int64) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
