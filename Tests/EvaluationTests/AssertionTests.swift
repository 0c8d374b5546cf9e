import Testing
@testable import Evaluation

/// Every assertion type, negated or not, and how weights make a case's score.
@Suite struct AssertionTests {
    let answer = observation(
        "The A-200 costs 229 USD.",
        calls: [ToolCall(name: "catalog.lookup_product", argumentsText: #"{"sku":"A-200","verbose":true,"n":2}"#)])

    private func passes(_ assertion: Assertion, _ observation: Observation? = nil) -> Bool {
        assertion.evaluate(observation ?? answer).passed
    }

    @Test func textAssertions() {
        #expect(passes(Assertion(.contains, .scalar("229"))))
        #expect(!passes(Assertion(.contains, .scalar("a-200"))))
        #expect(passes(Assertion(.icontains, .scalar("a-200"))))
        #expect(passes(Assertion(.regex, .scalar(#"\b229\b"#))))
        #expect(!passes(Assertion(.regex, .scalar(#"^229"#))))
        #expect(passes(Assertion(.regex, .scalar("(?i)the a-200"))))
        #expect(passes(Assertion(.equals, .scalar("ok")), observation("  ok\n")))
        #expect(!passes(Assertion(.equals, .scalar("ok")), observation("ok!")))
        #expect(Assertion(.contains, .scalar("349")).evaluate(answer).detail == #"the answer lacks "349""#)
        #expect(Assertion(.equals, .scalar("ok")).evaluate(observation("no")).detail == #"the answer is "no", not "ok""#)
    }

    @Test func negationInvertsAndSaysWhatWasFound() {
        let outcome = Assertion(.contains, .scalar("229"), negate: true).evaluate(answer)
        #expect(!outcome.passed)
        #expect(outcome.detail == #"the answer contains "229""#)
        #expect(passes(Assertion(.icontains, .scalar("paris"), negate: true)))
        #expect(passes(Assertion(.regex, .scalar("Paris"), negate: true)))
        #expect(passes(Assertion(.isJSON, negate: true)))
        #expect(passes(Assertion(.toolCalled, .scalar("catalog.check_stock"), negate: true)))
        #expect(!passes(Assertion(.toolCalled, .scalar("catalog.lookup_product"), negate: true)))
    }

    @Test func jsonAssertions() {
        let json = observation(#" {"ok": true, "count": 3, "name": "x"} "#)
        #expect(passes(Assertion(.isJSON), json))
        #expect(!passes(Assertion(.isJSON)))
        #expect(Assertion(.isJSON).evaluate(observation("{")).detail.hasPrefix("the answer is not JSON ("))
        let schema = SuiteValue.map([
            .init(key: "type", value: .scalar("object")),
            .init(key: "required", value: .list([.scalar("ok"), .scalar("count")])),
            .init(key: "properties", value: .map([
                .init(key: "ok", value: .map([.init(key: "type", value: .scalar("boolean"))])),
                .init(key: "count", value: .map([.init(key: "type", value: .scalar("integer"))])),
                .init(key: "missing", value: .map([.init(key: "type", value: .scalar("string"))])),
            ])),
        ])
        #expect(passes(Assertion(.jsonSchema, schema), json))
        let wrongType = Assertion(.jsonSchema, schema).evaluate(observation(#"{"ok": "yes", "count": 1}"#))
        #expect(!wrongType.passed && wrongType.detail == #""ok" is a string, not boolean"#)
        #expect(Assertion(.jsonSchema, schema).evaluate(observation(#"{"ok": true}"#)).detail == #"the answer has no key "count""#)
        #expect(Assertion(.jsonSchema, schema).evaluate(observation("[1]")).detail == "the answer is an array, not object")
        let asText = Assertion(.jsonSchema, .scalar(#"{"type": ["number", "null"]}"#))
        #expect(passes(asText, observation("2.5")) && passes(asText, observation("null")) && !passes(asText, observation("\"2\"")))
        #expect(Assertion(.jsonSchema, .scalar("{")).valueProblem()?.hasPrefix("json-schema: the schema is not JSON") == true)
        #expect(Assertion(.jsonSchema, .scalar(#"{"type": "thing"}"#)).valueProblem()?.contains("type must name types among") == true)
    }

    @Test func toolCalledMatchesTheNameAndASubsetOfTheArguments() {
        #expect(passes(Assertion(.toolCalled, .scalar("catalog.lookup_product"))))
        #expect(passes(Assertion(.toolCalled, .scalar("catalog.lookup_product"), args: .map([.init(key: "sku", value: .scalar("A-200"))]))))
        // Scalars match numbers and booleans by their text or value.
        #expect(passes(Assertion(.toolCalled, .scalar("catalog.lookup_product"), args: .map([
            .init(key: "verbose", value: .scalar("true")), .init(key: "n", value: .scalar("2.0")),
        ]))))
        #expect(passes(Assertion(.toolCalled, .list([.scalar("catalog.check_stock"), .scalar("catalog.lookup_product")]))))
        let wrongArgs = Assertion(.toolCalled, .scalar("catalog.lookup_product"), args: .map([.init(key: "sku", value: .scalar("A-100"))]))
        let outcome = wrongArgs.evaluate(answer)
        #expect(!outcome.passed)
        #expect(outcome.detail == #"no call of catalog.lookup_product with {sku: A-100} (calls: catalog.lookup_product({"sku":"A-200","verbose":true,"n":2}))"#)
        #expect(Assertion(.toolCalled, .scalar("x")).evaluate(observation("a")).detail == "no call of x (no tool calls)")
        // Without a trace the check cannot be made: it fails, negated or not.
        let untraced = observation("a", calls: nil)
        #expect(!passes(Assertion(.toolCalled, .scalar("x")), untraced))
        #expect(!passes(Assertion(.toolCalled, .scalar("x"), negate: true), untraced))
        // Arguments cut short in the trace match by name only.
        let cut = observation("a", calls: [ToolCall(name: "t.f", argumentsText: #"{"q":"abc"#)])
        #expect(passes(Assertion(.toolCalled, .scalar("t.f")), cut))
        #expect(!passes(Assertion(.toolCalled, .scalar("t.f"), args: .map([.init(key: "q", value: .scalar("abc"))])), cut))
    }

    @Test func limits() {
        #expect(passes(Assertion(.maxLatencyMs, .scalar("100")), observation("a", latencyMs: 100)))
        let slow = Assertion(.maxLatencyMs, .scalar("100")).evaluate(observation("a", latencyMs: 150.4))
        #expect(!slow.passed && slow.detail == "latency 150 ms > 100")
        #expect(passes(Assertion(.maxTokens, .scalar("40")), observation("a", generated: 40)))
        #expect(!passes(Assertion(.maxTokens, .scalar("39")), observation("a", generated: 40)))
        #expect(!passes(Assertion(.maxTokens, .scalar("39"), negate: true), observation("a", generated: nil)))
    }

    @Test func aCasePassesWhenEveryAssertionPassesAndScoresByWeight() {
        let evalCase = EvalCase(description: "c", input: "q", assertions: [
            Assertion(.contains, .scalar("229"), weight: 3),
            Assertion(.contains, .scalar("349"), weight: 1),
            Assertion(.maxTokens, .scalar("10"), weight: 0),
        ])
        let result = RunResult(caseIndex: 0, repetition: 0, case: evalCase, observation: answer)
        #expect(!result.passed)
        #expect(result.score == 0.75)
        #expect(result.outcomes.map(\.passed) == [true, false, false])  // the weight-0 one counts for passing, not for the score
        #expect(EvalReport.RunReport(result).firstFailure == #"contains "349": the answer lacks "349""#)
        let noAnswer = RunResult(
            caseIndex: 0, repetition: 0, case: evalCase, observation: Observation(reply: "", latencyMs: 5, failure: "no answer within 5 ms"))
        #expect(!noAnswer.passed && noAnswer.score == 0 && noAnswer.outcomes.isEmpty)
        #expect(EvalReport.RunReport(noAnswer).firstFailure == "no answer within 5 ms")
        let unchecked = RunResult(caseIndex: 0, repetition: 0, case: EvalCase(description: "c", input: "q", assertions: []), observation: answer)
        #expect(unchecked.passed && unchecked.score == 1)
        let zeroWeightFails = RunResult(
            caseIndex: 0, repetition: 0, case: EvalCase(description: "c", input: "q", assertions: [Assertion(.contains, .scalar("x"), weight: 0)]),
            observation: answer)
        #expect(!zeroWeightFails.passed && zeroWeightFails.score == 0)
    }
}
