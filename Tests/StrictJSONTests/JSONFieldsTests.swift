import StrictJSON
import Testing

/// Reading a wire type's members by name: kinds, nulls, absences, and errors that name the path.
struct JSONFieldsTests {
    static let document = #"{"list": [{"name": "a", "n": 3, "big": 18446744073709551615, "x": 2.5, "gone": null, "o": {"k": 1}, "new": true}], "s": "t"}"#

    private func row() throws -> JSONFields {
        try #require(try JSONFields(JSONParser.parse(Self.document)).objects("list").first)
    }

    @Test func readsEachKindItIsAskedFor() throws {
        let row = try row()
        #expect(try row.required("name", as: String.self) == "a")
        #expect(try row.required("n", as: Int.self) == 3)
        #expect(try row.required("n", as: UInt64.self) == 3 && row.required("big", as: UInt64.self) == .max)
        #expect(try row.required("x", as: Double.self) == 2.5 && row.required("n", as: Double.self) == 3)
        #expect(try row.optionalObject("o")?.required("k", as: Int.self) == 1)
    }

    @Test func nullAndAbsentReadAsNilWhenOptional() throws {
        let row = try row()
        #expect(try row.optional("gone", as: String.self) == nil)
        #expect(try row.optional("absent", as: Double.self) == nil)
        #expect(try row.optionalObject("gone") == nil && row.optionalObject("absent") == nil)
    }

    @Test func membersNobodyAsksForAreIgnored() throws {
        #expect(try row().required("name", as: String.self) == "a")  // "new" is in the row
    }

    @Test(arguments: [
        ("absent", "list[0].absent is missing"),
        ("gone", "list[0].gone should be a string, not null"),
        ("n", "list[0].n should be a string, not 3"),
        ("o", "list[0].o should be a string, not an object"),
    ])
    func aRequiredMemberThatDoesNotFitNamesItsPath(_ key: String, _ message: String) throws {
        let row = try row()
        #expect(Self.problem { try row.required(key, as: String.self) } == message)
    }

    @Test func numbersOutOfRangeOrWithAFractionDoNotFitIntegers() throws {
        let row = try row()
        #expect(Self.problem { try row.required("x", as: UInt64.self) } == "list[0].x should be an unsigned integer, not 2.5")
        #expect(Self.problem { try row.required("big", as: Int.self) } == "list[0].big should be an integer, not 18446744073709551615")
        let negative = try JSONFields(JSONParser.parse(#"{"d": -1}"#))
        #expect(Self.problem { try negative.required("d", as: UInt64.self) } == "d should be an unsigned integer, not -1")
    }

    @Test func theDocumentAndItsArraysMustHoldObjects() throws {
        #expect(Self.problem { try JSONFields(JSONParser.parse("[]")) } == "the document should be an object, not an array")
        let top = try JSONFields(JSONParser.parse(#"{"list": [1], "s": "t"}"#))
        #expect(Self.problem { try top.objects("list") } == "list[0] should be an object, not an integer")
        #expect(Self.problem { try top.objects("s") } == "s should be an array, not a string")
        #expect(Self.problem { try top.objects("none") } == "none is missing")
    }

    /// The description of the `JSONShapeError` `body` throws; nil when it throws none.
    private static func problem(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? JSONShapeError)?.description ?? "\(error)"
        }
    }
}
