import ControlAPI
import StrictJSON
import Testing
@testable import Evaluation

/// Tool calls and token counts read from the kernel's request timelines.
@Suite struct TraceReadingTests {
    @Test func toolEventsGiveTheCallAndItsArguments() throws {
        let call = try #require(ToolCall(traceDetail: #"catalog.lookup_product({"sku":"A-200"}) → {"sku":"A-200","price_usd":229}"#))
        #expect(call.name == "catalog.lookup_product" && !call.failed)
        #expect(call.arguments == .object([(key: "sku", value: .string("A-200"))]))
        let failed = try #require(ToolCall(traceDetail: #"catalog.lookup_product({"sku": "Z-9)"}) failed: tool_failed: no product"#))
        #expect(failed.argumentsText == #"{"sku": "Z-9)"}"# && failed.failed)
        #expect(failed.summary == #"catalog.lookup_product({"sku": "Z-9)"}) failed"#)
        let cut = try #require(ToolCall(traceDetail: #"t.f({"q":"aaaa) → "x""#))
        #expect(cut.argumentsText == #"{"q":"aaaa"# && cut.arguments == nil)
        #expect(ToolCall(traceDetail: "clock.now() → \"T\"")?.argumentsText == "")
        #expect(ToolCall(traceDetail: "no parenthesis") == nil)
    }

    @Test func tokensAreSummedOverEveryTurnOfEveryRequest() {
        func event(_ name: String, _ detail: String) -> RequestTraceInfo.Event {
            .init(atMs: 0, event: name, durationMs: nil, detail: detail)
        }
        let first = RequestTraceInfo(requestId: 1, agent: "support", events: [
            event("queued", "priority 0"), event("scheduled", "415 prompt tokens"), event("first token", ""),
            event("finished", "stop, 39 tokens generated, calls catalog.lookup_product"),
            event("tool", #"catalog.lookup_product({"sku":"A-200"}) → {}"#),
            event("scheduled", "523 prompt tokens"), event("finished", "stop, 37 tokens generated"),
        ])
        let second = RequestTraceInfo(requestId: 2, agent: "support", events: [
            event("scheduled", "100 prompt tokens"), event("failed", "engine_failed: no"),
        ])
        let reading = TraceReading([first, second])
        #expect(reading.promptTokens == 1038)
        #expect(reading.generatedTokens == 76)
        #expect(reading.toolCalls.map(\.name) == ["catalog.lookup_product"])
    }
}
