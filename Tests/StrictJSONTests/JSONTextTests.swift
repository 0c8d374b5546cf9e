import StrictJSON
import Testing

/// The text forms of a `JSONValue`: compact, spaced and pretty, and the escaping they share.
struct JSONTextTests {
    static let value = JSONValue.object([
        ("a", .array([.integer(1), .integer(.min), .unsigned(.max), .number(3.5), .number(2), .bool(false)])),
        ("b", .object([("c", .null), ("d", .array([])), ("e", .object([]))])),
        ("s", .string("hé 日本 🙂")),
    ])

    @Test func compactHasNoSpaces() {
        #expect(Self.value.jsonText
            == #"{"a":[1,-9223372036854775808,18446744073709551615,3.5,2,false],"b":{"c":null,"d":[],"e":{}},"s":"hé 日本 🙂"}"#)
    }

    @Test func spacedPutsASpaceAfterEachCommaAndColon() {
        #expect(Self.value.spacedText
            == #"{"a": [1, -9223372036854775808, 18446744073709551615, 3.5, 2, false], "b": {"c": null, "d": [], "e": {}}, "s": "hé 日本 🙂"}"#)
    }

    @Test func prettyIndentsTwoSpacesPerLevelAndKeepsEmptyContainersOnTheirLine() {
        let expected = """
            {
              "a": [
                1,
                -9223372036854775808,
                18446744073709551615,
                3.5,
                2,
                false
              ],
              "b": {
                "c": null,
                "d": [],
                "e": {}
              },
              "s": "hé 日本 🙂"
            }
            """
        #expect(Self.value.prettyText == expected)
    }

    @Test func escapesQuotesBackslashesAndControlCharactersOnly() {
        #expect(JSONValue.quoted("a\"b\\c\n\r\t\u{1}\u{1F}\u{7F}/é") == #""a\"b\\c\n\r\t\u0001\u001f\#u{7F}/é""#)
        #expect(JSONValue.string("\u{8}\u{C}").jsonText == #""\u0008\u000c""#)
    }

    @Test func writesValueByValueWithMembersOfEachKind() {
        var writer = JSONWriter(style: .compact)
        writer.beginObject()
        writer.member("s", "text")
        writer.member("none", nil as String?)
        writer.member("d", 0.5)
        writer.member("i", -3)
        writer.member("u", UInt64.max)
        writer.key("list")
        writer.beginArray()
        writer.beginObject()
        writer.endObject()
        writer.bool(true)
        writer.null()
        writer.endArray()
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self)
            == #"{"s":"text","none":null,"d":0.5,"i":-3,"u":18446744073709551615,"list":[{},true,null]}"#)
    }

    @Test func numbersWithoutAFractionAreWrittenAsIntegersAndNonFiniteAsNull() {
        #expect(JSONValue.numberText(3) == "3" && JSONValue.numberText(-0.0) == "0" && JSONValue.numberText(-2) == "-2")
        #expect(JSONValue.numberText(0.1) == "0.1" && JSONValue.numberText(1e16) == "1e+16")
        #expect(JSONValue.numberText(.infinity) == "null" && JSONValue.numberText(.nan) == "null")
    }

    /// (A `.number` with no fraction reads back as an `.integer`: the same text.)
    @Test func readsBackWhatItWrites() throws {
        for text in [Self.value.jsonText, Self.value.spacedText, Self.value.prettyText] {
            #expect(try JSONParser.parse(text).jsonText == Self.value.jsonText)
        }
    }
}
