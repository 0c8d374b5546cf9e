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
        #expect(try row.string("name") == "a" && row.optionalString("name") == "a")
        #expect(try row.int("n") == 3)
        #expect(try row.unsigned("n") == 3 && row.unsigned("big") == .max)
        #expect(try row.double("x") == 2.5 && row.double("n") == 3 && row.optionalDouble("x") == 2.5)
        #expect(try row.optionalObject("o")?.int("k") == 1)
    }

    @Test func nullAndAbsentReadAsNilWhenOptional() throws {
        let row = try row()
        #expect(try row.optionalString("gone") == nil && row.optionalString("absent") == nil)
        #expect(try row.optionalDouble("gone") == nil && row.optionalDouble("absent") == nil)
        #expect(try row.optionalObject("gone") == nil && row.optionalObject("absent") == nil)
    }

    @Test func membersNobodyAsksForAreIgnored() throws {
        #expect(try row().string("name") == "a")  // "new" is in the row
    }

    @Test(arguments: [
        ("absent", "list[0].absent is missing"),
        ("gone", "list[0].gone should be a string, not null"),
        ("n", "list[0].n should be a string, not 3"),
        ("o", "list[0].o should be a string, not an object"),
    ])
    func aRequiredMemberThatDoesNotFitNamesItsPath(_ key: String, _ message: String) throws {
        let row = try row()
        #expect(Self.problem { try row.string(key) } == message)
    }

    @Test func numbersOutOfRangeOrWithAFractionDoNotFitIntegers() throws {
        let row = try row()
        #expect(Self.problem { try row.unsigned("x") } == "list[0].x should be an unsigned integer, not 2.5")
        #expect(Self.problem { try row.int("big") } == "list[0].big should be an integer, not 18446744073709551615")
        #expect(Self.problem { try row.double("name") } == "list[0].name should be a number, not a string")
        #expect(Self.problem { try row.optionalObject("n") } == "list[0].n should be an object, not an integer")
        let negative = try JSONFields(JSONParser.parse(#"{"d": -1}"#))
        #expect(Self.problem { try negative.unsigned("d") } == "d should be an unsigned integer, not -1")
    }

    @Test func theDocumentAndItsArraysMustHoldObjects() throws {
        #expect(Self.problem { try JSONFields(JSONParser.parse("[]")) } == "the document should be an object, not an array")
        let top = try JSONFields(JSONParser.parse(#"{"list": [1], "s": "t"}"#))
        #expect(Self.problem { try top.objects("list") } == "list[0] should be an object, not an integer")
        #expect(Self.problem { try top.objects("s") } == "s should be an array, not a string")
        #expect(Self.problem { try top.objects("none") } == "none is missing")
    }

    /// The description of the error `body` throws; nil when it throws none.
    private static func problem(_ body: () throws -> Any?) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? JSONShapeError)?.description ?? "\(error)"
        }
    }
}
