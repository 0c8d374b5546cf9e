import StrictJSON
import Testing

/// The strict reader tool arguments go through: exact integers, order, and a named refusal for everything else.
struct JSONParserTests {
    @Test func readsEveryKindOfValueInOrder() throws {
        let value = try JSONParser.parse(#" {"b": [1, -2, 3.5, 1e3], "a": {"x": null, "y": true, "z": false}, "s": "h\u00e9\n\ud83d\ude00"} "#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "s"])
        #expect(value["b"] == .array([.integer(1), .integer(-2), .number(3.5), .number(1000)]))
        #expect(value["a"] == .object([("x", .null), ("y", .bool(true)), ("z", .bool(false))]))
        #expect(value["s"] == .string("hé\n😀"))
    }

    @Test func integersStayExactTo64Bits() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .integer(.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .integer(.min))
        #expect(try JSONParser.parse("18446744073709551615") == .unsigned(.max))
        #expect(try JSONParser.parse("18446744073709551616") == .number(18446744073709551616))
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("NaN", "unexpected character"),
        ("Infinity", "unexpected character"),
        ("-Infinity", "a number needs digits"),
        ("nul", "invalid literal"),
        ("1e999", "out of range"),
        ("01", "leading zeros"),
        ("1.", "digits after '.'"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\""),
        ("{\"a\" 1}", "expected ':'"),
        ("{a:1}", "expected a string key"),
        ("[1,]", "unexpected character"),
        ("[1 2]", "expected ',' or ']'"),
        ("\"\\x\"", "invalid escape"),
        ("\"\\ud800\"", "lone UTF-16 surrogate"),
        ("\"a\nb\"", "control character"),
        ("\"abc", "unterminated string"),
        ("{} {}", "unexpected text after"),
    ])
    func refusesWithTheReason(_ text: String, _ reason: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(reason), "\(text): \(error)")
        }
    }

    @Test func refusesInvalidUTF8InAString() {
        let bytes: [UInt8] = Array("{\"s\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(throws: JSONSyntaxError.self) {
            try bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }
        }
    }

    @Test func refusesDeepNestingWithoutExhaustingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test func accessorsGiveAValueOfTheirKindAndNilForAnyOther() throws {
        let value = try JSONParser.parse(#"{"s": "text", "n": 3, "f": 3.0, "x": 3.5, "u": 18446744073709551615, "a": [1, "b"], "o": {"k": null}}"#)
        #expect(value["s"]?.asString == "text" && value["n"]?.asString == nil)
        #expect(value["n"]?.asInt == 3 && value["f"]?.asInt == 3)
        #expect(value["x"]?.asInt == nil && value["u"]?.asInt == nil && value["s"]?.asInt == nil)
        #expect(value["a"]?.asArray == [.integer(1), .string("b")] && value["o"]?.asArray == nil)
        #expect(value["o"]?.asObject?.map(\.key) == ["k"] && value["a"]?.asObject == nil)
        #expect(value.asObject?.map(\.key) == ["s", "n", "f", "x", "u", "a", "o"])
        #expect(JSONValue.null.asString == nil && JSONValue.bool(true).asInt == nil)
    }

    @Test func subscriptsOfValuesOtherThanObjectsAreNil() throws {
        let value = try JSONParser.parse(#"{"error": "overloaded", "list": [{"k": 1}]}"#)
        #expect(value["error"]?["message"] == nil)
        #expect(value["list"]?["k"] == nil)
        #expect(value["missing"]?["k"] == nil)
    }

    @Test func writesWhatItReads() throws {
        let text = #"{"a":[1,-2,3.5,"x\"y\\z\u0001"],"b":{"c":null,"d":true},"e":18446744073709551615}"#
        #expect(try JSONParser.parse(text).jsonText == text)
    }
}
