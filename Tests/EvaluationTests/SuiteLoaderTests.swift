import Foundation
import Testing
@testable import Evaluation

/// Suites from YAML: what loads, and each bad input's one-line error naming the file and line.
@Suite struct SuiteLoaderTests {
    static let minimal = """
        target: support
        cases:
          - description: Price of A-200
            input: How much does the A-200 cost?
            assert:
              - {type: contains, value: 229}
        """

    @Test func aMinimalSuiteLoadsWithDefaults() throws {
        let suite = try load(Self.minimal).get()
        #expect(suite.target == "support")
        #expect(suite.defaults == Defaults(timeoutMs: 60_000, repeat: 1))
        #expect(suite.cases.count == 1)
        #expect(suite.cases[0].input == "How much does the A-200 cost?")
        #expect(suite.cases[0].assertions == [Assertion(.contains, .scalar("229"))])
        #expect(suite.cases[0].source == "suite.yaml:3")
    }

    @Test func everyFieldIsRead() throws {
        let suite = try load("""
            description: all of it
            target: support
            defaults: {timeout_ms: 5000, repeat: 3, seed: 7, temperature: 0.5}
            vars: {shop: outdoor}
            cases:
              - description: in the {{shop}} shop
                category: misc
                input: Hello {{shop}}
                assert:
                  - type: not-contains
                    value: "no"
                    weight: 2
                  - type: icontains
                    value: yes
                    negate: true
                  - type: tool-called
                    value: [catalog.check_stock, catalog.lookup_product]
                    args: {sku: A-101, n: 2}
                  - {type: json-schema, value: {type: object, required: [a]}}
                  - {type: is-json}
                  - {type: max-latency-ms, value: 100}
                  - {type: max-tokens, value: 50}
                  - {type: regex, value: '\\d+'}
                  - {type: equals, value: ok}
            """).get()
        #expect(suite.description == "all of it")
        #expect(suite.defaults == Defaults(timeoutMs: 5000, repeat: 3, seed: 7, temperature: 0.5))
        let evalCase = suite.cases[0]
        #expect(evalCase.description == "in the outdoor shop" && evalCase.input == "Hello outdoor" && evalCase.category == "misc")
        let assertions = evalCase.assertions
        #expect(assertions.map(\.typeName) == [
            "not-contains", "not-icontains", "tool-called", "json-schema", "is-json", "max-latency-ms", "max-tokens", "regex", "equals",
        ])
        // Scalars stay text: `no` and `yes` are not booleans, `2` not a number.
        #expect(assertions[0] == Assertion(.contains, .scalar("no"), negate: true, weight: 2))
        #expect(assertions[1].value == .scalar("yes"))
        #expect(assertions[2].args == .map([.init(key: "sku", value: .scalar("A-101")), .init(key: "n", value: .scalar("2"))]))
        #expect(assertions[2].summary == "tool-called [catalog.check_stock, catalog.lookup_product] {sku: A-101, n: 2}")
    }

    @Test func notYAMLNamesTheLineAndColumn() {
        let message = loadError("target: support\ncases:\n  - description: \"unclosed\n    input: x\n")
        #expect(message.hasPrefix("suite.yaml:"), "\(message)")
        #expect(message.contains("not valid YAML"), "\(message)")
        let tabs = loadError("target: support\ncases: [\n\t- {]\n")
        #expect(tabs.hasPrefix("suite.yaml:3:"), "\(tabs)")
    }

    @Test func anUnknownAssertionTypeListsTheKnownOnes() {
        let message = loadError("""
            target: support
            cases:
              - description: a
                input: b
                assert:
                  - {type: contains, value: x}
                  - {type: containz, value: x}
            """)
        #expect(message.hasPrefix("suite.yaml:7:"), "\(message)")
        #expect(message.contains("cases[0].assert[1].type: unknown assertion type \"containz\""), "\(message)")
        #expect(message.contains("known: contains, icontains, regex, equals, is-json, json-schema, tool-called, max-latency-ms, max-tokens, not-contains"), "\(message)")
        #expect(loadError("target: t\ncases:\n  - {description: a, input: b, assert: [{type: not-max-tokens, value: 1}]}").contains("unknown assertion type \"not-max-tokens\""))
    }

    @Test func aMisspeltKeyIsRefusedNotIgnored() {
        let message = loadError("target: support\ncases:\n  - description: a\n    input: b\n    asert: []\n")
        #expect(message == "suite.yaml:5:12: cases[0].asert: unknown key \"asert\" in a case (known: description, category, input, assert, template)", "\(message)")
        #expect(loadError("target: t\ntimeout: 5\ncases: []").contains("unknown key \"timeout\" in a suite"))
        #expect(loadError("target: t\ndefaults: {timeout: 5}\ncases: []").contains("unknown key \"timeout\" in defaults"))
    }

    @Test func aMissingKeyOrAWrongTypeNamesThePlace() {
        let missing = loadError("target: support\ncases:\n  - description: a\n    assert: []\n")
        #expect(missing == "suite.yaml:3:5: missing key \"input\" in cases[0]", "\(missing)")
        #expect(loadError("cases: []") .contains("missing key \"target\""))
        let wrong = loadError("target: support\ncases:\n  - description: a\n    input: b\n    assert: contains\n")
        #expect(wrong == "suite.yaml:5:13: cases[0].assert: expected a list, found \"contains\"", "\(wrong)")
        let number = loadError("target: t\ndefaults: {timeout_ms: soon}\ncases: []")
        #expect(number.contains("defaults.timeout_ms: expected an integer, found \"soon\""), "\(number)")
        #expect(loadError("just a line").contains("expected a map"))
        #expect(loadError("target: ''\ncases: []") == "suite.yaml:1:9: target: target must name an agent")
    }

    @Test func anAssertionWithoutTheValueItNeedsIsRefused() {
        func error(_ assertion: String) -> String {
            loadError("target: t\ncases:\n  - description: a\n    input: b\n    assert: [\(assertion)]\n")
        }
        #expect(error("{type: contains}").contains("contains needs a value"))
        #expect(error("{type: is-json, value: x}").contains("is-json takes no value"))
        #expect(error("{type: tool-called}").contains("tool-called needs a value"))
        #expect(error("{type: tool-called, value: t, args: [1]}").contains("args must be a map"))
        #expect(error("{type: contains, value: x, args: {a: 1}}").contains("contains takes no args"))
        #expect(error("{type: not-contains, value: x, negate: true}").contains("negates twice"))
        #expect(error("{type: contains, value: x, weight: -1}").contains("weight must be a number ≥ 0"))
        #expect(error("{type: regex, value: '(unclosed'}").contains("regex \"(unclosed\" does not compile"))
        #expect(error("{type: max-tokens, value: many}").contains("max-tokens needs a number ≥ 0, not \"many\""))
        #expect(error("{type: json-schema, value: '{\"type\": 1}'}").contains("json-schema: type must be a type name"))
        #expect(error("{type: regex, value: '(x'}").hasPrefix("suite.yaml:3: case \"a\""))
    }

    @Test func anEmptySuiteIsRefused() {
        #expect(loadError("") == "suite.yaml: empty suite: expected target and cases")
        #expect(loadError("# only a comment\n") == "suite.yaml: empty suite: expected target and cases")
        #expect(loadError("target: support\ncases: []\n") == "suite.yaml: empty suite: no cases")
        #expect(loadError("target: support\n") == "suite.yaml: empty suite: no cases")
    }

    @Test func aMissingSuiteFileIsNamed() {
        #expect(throws: EvaluationError("cannot read suite /nonexistent/s.yaml: no such file")) { try SuiteLoader.load("/nonexistent/s.yaml") }
    }

    @Test func descriptionsMustBeUnique() {
        let message = loadError("target: t\ncases:\n  - {description: a, input: x}\n  - {description: a, input: y}\n")
        #expect(message.contains("suite.yaml:4: two cases are named \"a\" (the other at suite.yaml:3)"), "\(message)")
    }

    @Test func theSupportExampleLoads() throws {
        let suite = try SuiteLoader.load(repositoryRoot.appendingPathComponent("sdk/examples/evals/support.yaml").path)
        #expect(suite.target == "support")
        #expect(suite.cases.count == 30)
        #expect(Set(suite.cases.compactMap(\.category)) == ["price", "stock", "comparison", "details", "unknown", "off-topic"])
        let price = try #require(suite.cases.first { $0.description == "Price of A-200" })
        #expect(price.input == "How much does the A-200 cost?")
        #expect(price.assertions[0] == Assertion(.contains, .scalar("229"), weight: 2))
        #expect(price.assertions[1].args == .map([.init(key: "sku", value: .scalar("A-200"))]))
        #expect(price.source == "support.yaml:21 (products.csv:4)")
        let filtered = try suite.filtered(matching: "^Stock of")
        #expect(filtered.cases.map(\.description) == [
            "Stock of A-101 (none left)", "Stock of B-301 (none left)", "Stock of F-701 (none left)", "Stock of A-200 (12 left)",
        ])
        #expect(throws: EvaluationError("no case of \(suite.path) matches --filter \"^Nothing\"")) { try suite.filtered(matching: "^Nothing") }
    }
}
