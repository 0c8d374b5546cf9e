import DequeModule
import Synchronization

/// One step in the life of an inference request.
public struct TraceEvent: Sendable, Equatable {
    /// "queued", "scheduled", "first token", "finished", "failed", "tool".
    public let event: String
    /// Monotonic ns.
    public let at: UInt64
    /// How long it took (a tool call), 0 for instants.
    public let durationNanos: UInt64
    /// What happened: the finish reason and tokens, the tool and its outcome.
    public let detail: String
}

/// The timeline of one request (every turn of a tool loop, and its tool calls).
public struct RequestTrace: Sendable, Equatable {
    public let id: UInt64
    public let agent: String
    public var events: [TraceEvent]
}

/// The timelines of the most recent requests, for `agentctl trace ID`. Bounded:
/// the oldest are dropped first. Thread-safe.
public final class RequestTraces: Sendable {
    /// Requests whose timelines are kept.
    public static let capacity = 1024

    private struct State {
        var traces: [UInt64: RequestTrace] = [:]
        var order = Deque<UInt64>()
    }

    private let state = Mutex(State())

    public init() {}

    /// The timeline of request `id`, events in time order; nil when unknown or dropped.
    public func trace(_ id: UInt64) -> RequestTrace? {
        state.withLock { $0.traces[id] }.map { trace in
            var sorted = trace
            sorted.events.sort { $0.at < $1.at }
            return sorted
        }
    }

    /// Records one model turn as it ends: queued, scheduled, first token, finished or failed.
    func recordTurn(_ request: InferenceRequest, _ outcome: Result<InferenceResult, KernelError>, endedAt: UInt64) {
        var events = [TraceEvent(event: "queued", at: request.submittedAt, durationNanos: 0, detail: "priority \(request.priority)")]
        switch outcome {
        case .success(let result):
            let usage = result.usage
            events.append(TraceEvent(event: "scheduled", at: request.submittedAt &+ usage.queueNanos, durationNanos: 0, detail: "\(usage.promptTokens) prompt tokens, \(usage.cachedPromptTokens) cached"))
            if usage.timeToFirstTokenNanos > 0 {
                events.append(TraceEvent(event: "first token", at: request.submittedAt &+ usage.timeToFirstTokenNanos, durationNanos: 0, detail: ""))
            }
            let calls = result.toolCalls.isEmpty ? "" : ", calls " + result.toolCalls.map(\.name).joined(separator: ", ")
            events.append(TraceEvent(
                event: "finished", at: request.submittedAt &+ usage.totalNanos, durationNanos: 0,
                detail: "\(result.finishReason.rawValue), \(usage.completionTokens) tokens generated" + calls))
        case .failure(let error):
            events.append(TraceEvent(event: "failed", at: endedAt, durationNanos: 0, detail: "\(error.code.rawValue): \(error.message)"))
        }
        append(events, id: request.id, agent: request.agent)
    }

    /// Records a tool call of a tool loop.
    func recordTool(_ record: ToolCallRecord, request: UInt64, agent: String, endedAt: UInt64) {
        let outcome = switch record.outcome {
        case .success(let json): "→ " + String(json.prefix(200))
        case .failure(let error): "failed: \(error.code.rawValue): \(error.message)"
        }
        append([TraceEvent(
            event: "tool", at: endedAt &- record.durationNanos, durationNanos: record.durationNanos,
            detail: "\(record.tool)(\(record.arguments.prefix(200))) \(outcome)")], id: request, agent: agent)
    }

    private func append(_ events: [TraceEvent], id: UInt64, agent: String) {
        state.withLock { state in
            if state.traces[id] == nil {
                state.traces[id] = RequestTrace(id: id, agent: agent, events: [])
                state.order.append(id)
                if state.order.count > Self.capacity, let oldest = state.order.popFirst() { state.traces[oldest] = nil }
            }
            state.traces[id]!.events += events
        }
    }
}
