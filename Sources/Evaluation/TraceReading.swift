import ControlAPI

/// What the timelines of an answer's inference requests say: its tool calls
/// and token counts, summed over every model turn of every request.
struct TraceReading: Equatable {
    var toolCalls: [ToolCall] = []
    var promptTokens = 0
    var generatedTokens = 0

    /// Reads `traces`' `tool` events, `scheduled` events ("N prompt tokens")
    /// and `finished` events ("stop, N tokens generated, ...").
    init(_ traces: [RequestTraceInfo]) {
        for event in traces.flatMap(\.events) {
            switch event.event {
            case "tool":
                if let call = ToolCall(traceDetail: event.detail) { toolCalls.append(call) }
            case "scheduled":
                promptTokens += Self.leadingNumber(event.detail, before: " prompt tokens") ?? 0
            case "finished":
                let afterReason = event.detail.split(separator: ",", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
                generatedTokens += Self.leadingNumber(afterReason, before: " tokens generated") ?? 0
            default:
                break
            }
        }
    }

    /// The integer `text` starts with (after spaces) when `marker` follows it.
    private static func leadingNumber(_ text: String, before marker: String) -> Int? {
        let trimmed = text.drop { $0 == " " }
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard trimmed.dropFirst(digits.count).hasPrefix(marker) else { return nil }
        return Int(digits)
    }
}
