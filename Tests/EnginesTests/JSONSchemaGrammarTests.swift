import CLlama
@testable import Engines
import Foundation
import KernelCore
import Testing

@Suite struct JSONSchemaGrammarTests {
    @Test func smallObjectGrammar() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: """
            {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name"]}
            """)
        #expect(grammar == #"""
            root ::= "{" space name-kv ("," space age-kv)? "}" space
            age-kv ::= "\"age\"" space ":" space integer
            char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
            integer ::= "-"? integral-part space
            integral-part ::= [0] | [1-9] [0-9]{0,15}
            name-kv ::= "\"name\"" space ":" space string
            space ::= | " " | "\n" [ \t]{0,20}
            string ::= "\"" char* "\"" space

            """#)
    }

    @Test func requiredPropertiesComeFirstInDeclarationOrder() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: """
            {"type": "object", "required": ["m", "z"],
             "properties": {"z": {"type": "null"}, "a": {"type": "null"}, "m": {"type": "null"}, "b": {"type": "null"}}}
            """)
        #expect(rules(of: grammar)["root"] == #""{" space z-kv "," space m-kv ("," space a-kv)? ("," space b-kv)? "}" space"#)
    }

    @Test func withoutRequiredPropertiesAnySubsetKeepsItsOrder() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: """
            {"type": "object", "properties": {"a": {"type": "null"}, "b": {"type": "null"}, "c": {"type": "null"}}}
            """)
        #expect(rules(of: grammar)["root"] == #"""
            "{" space (a-kv ("," space b-kv)? ("," space c-kv)? | b-kv ("," space c-kv)? | c-kv)? "}" space
            """#)
    }

    @Test func arraysStringLengthsEnumsAndTypeLists() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: """
            {"type": "object", "properties": {
              "tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 8}, "minItems": 1, "maxItems": 3},
              "any": {"type": "array", "maxItems": 0},
              "color": {"enum": ["red", 1, 2.5, true, null]},
              "kind": {"const": "a\\"b"},
              "zip": {"type": ["string", "null"]},
              "essay": {"type": "string", "maxLength": 5000}}}
            """)
        let rules = rules(of: grammar)
        #expect(rules["tags"] == #""[" space tags-item ("," space tags-item){0,2} "]" space"#)
        #expect(rules["tags-item"] == #""\"" char{1,8} "\"" space"#)
        #expect(rules["any"] == #""[" space "]" space"#)
        #expect(rules["color"] == #"("\"red\"" | "1" | "2.5" | "true" | "null") space"#)
        #expect(rules["kind"] == #""\"a\\\"b\"" space"#)
        #expect(rules["zip"] == "(string | null)")
        #expect(rules["essay"] == #""\"" char{0,1000} "\"" space"#, "maxLength is lowered to what llama.cpp can repeat")
    }

    @Test func identicalRulesAreDefinedOnce() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: """
            {"type": "object", "properties": {"first": {"type": "string", "maxLength": 5}, "second": {"type": "string", "maxLength": 5}}}
            """)
        let rules = rules(of: grammar)
        #expect(rules.values.filter { $0 == #""\"" char{0,5} "\"" space"# }.count == 1)
        #expect(rules["second-kv"] == #""\"second\"" space ":" space first"#)
    }

    @Test func ruleNamesAreValidUniqueAndDefined() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: """
            {"type": "object", "properties": {
              "first name": {"type": "string", "maxLength": 3}, "root": {"type": "object", "properties": {"x": {"type": "integer"}}},
              "string": {"enum": ["s"]}, "ключ": {"type": "array", "items": {"$ref": "#/$defs/a.b"}}},
             "$defs": {"a.b": {"type": "object", "properties": {"next": {"$ref": "#/$defs/a.b"}}}}}
            """)
        let lines = grammar.split(separator: "\n")
        let names = lines.map { String($0.prefix { $0 != " " }) }
        #expect(names.allSatisfy { $0.wholeMatch(of: /[a-zA-Z0-9-]+/) != nil })
        #expect(Set(names).count == names.count)
        let bodies = rules(of: grammar).values.joined(separator: " ")
            .replacing(/"(\\.|[^"\\])*"/, with: "").replacing(/\[(\\.|[^\]\\])*\]/, with: "").replacing(/\{[0-9,]*\}/, with: "")
        let referenced = Set(bodies.matches(of: /[a-zA-Z0-9-]+/).map { String($0.0) })
        #expect(referenced.isSubset(of: Set(names)), "undefined: \(referenced.subtracting(names))")
        #expect(rules(of: grammar)["a-b"] == #""{" space (a-b-next-kv)? "}" space"#)
    }

    @Test func referencesBecomeRuleNames() throws {
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: ##"""
            {"type": "object", "properties": {"parent": {"$ref": "#"}, "pet": {"$ref": "#/$defs/Pet"}},
             "$defs": {"Pet": {"type": "object", "properties": {"friend": {"$ref": "#/$defs/Pet"}}}}}
            """##)
        let rules = rules(of: grammar)
        #expect(rules["parent-kv"] == #""\"parent\"" space ":" space root"#)
        #expect(rules["pet-kv"] == #""\"pet\"" space ":" space Pet"#)
        #expect(rules["Pet"] == #""{" space (Pet-friend-kv)? "}" space"#)
        #expect(rules["Pet-friend-kv"] == #""\"friend\"" space ":" space Pet"#)
    }

    @Test func annotationsAreIgnored() throws {
        let plain = #"{"type": "object", "properties": {"n": {"type": "number"}}}"#
        let annotated = """
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T", "description": "d", "x-note": 1,
             "type": "object", "properties": {"n": {"type": "number", "description": "d", "examples": [1], "default": 2, "title": "N"}}}
            """
        #expect(try JSONSchemaGrammar.grammar(fromSchema: annotated) == JSONSchemaGrammar.grammar(fromSchema: plain))
    }

    @Test func invalidJSONQuotesTheParsersReason() {
        let error = schemaError(#"{"type": "object", "properties": {"#)
        #expect(error?.code == .invalidSchema)
        let message = error?.message ?? ""
        #expect(message.hasPrefix("the schema is not valid JSON: ") && message.count > "the schema is not valid JSON: ".count + 5, "\(message)")
    }

    @Test(arguments: Self.refusals)
    func refusesWithThePointerAndTheProblem(schema: String, message: String) {
        let error = schemaError(schema)
        #expect(error?.code == .invalidSchema)
        #expect(error?.message == message)
    }

    static let refusals: [(schema: String, message: String)] = [
        (#"{"type": "string"}"#, #"schema at /: the top level must be an object schema ("type": "object")"#),
        (#""just a string""#, #"schema at /: the top level must be an object schema ("type": "object")"#),
        (##"{"$ref": "#/$defs/s", "$defs": {"s": {"type": "integer"}}}"##,
         #"schema at /$defs/s: the top level must be an object schema ("type": "object")"#),
        (##"{"$ref": "#/$defs/s", "$defs": {"s": {"$ref": "#/$defs/s"}}}"##,
         "schema at /$defs/s: $ref must be a string and not lead back to itself"),
        (#"{"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}"#,
         #"schema at /properties/code: keyword "pattern" is not supported"#),
        (#"{"type": "object", "properties": {"a/b": {"type": "string", "format": "date"}}}"#,
         #"schema at /properties/a~1b: keyword "format" is not supported"#),
        (#"{"type": "object", "patternProperties": {"^x": {}}}"#, #"schema at /: keyword "patternProperties" is not supported"#),
        (#"{"type": "object", "if": {}, "then": {}}"#, #"schema at /: keyword "if" is not supported"#),
        (#"{"type": "object", "properties": {"n": {"not": {"type": "null"}}}}"#, #"schema at /properties/n: keyword "not" is not supported"#),
        (#"{"type": "object", "properties": {"price": {"type": "money"}}}"#, #"schema at /properties/price: unsupported type "money""#),
        (##"{"type": "object", "properties": {"owner": {"$ref": "#/$defs/Person"}}}"##,
         ##"schema at /properties/owner: $ref "#/$defs/Person" does not resolve"##),
        (#"{"type": "object", "properties": {"owner": {"$ref": "https://example.com/person.json"}}}"#,
         ##"schema at /properties/owner: $ref "https://example.com/person.json" is not supported (only local ones such as "#/$defs/Name")"##),
        (#"{"type": "object", "properties": {"pick": {"enum": ["a", {"b": 1}]}}}"#,
         "schema at /properties/pick/enum/1: enum and const values must be strings, numbers, booleans or null"),
        (#"{"type": "object", "properties": {"pick": {"const": [1]}}}"#,
         "schema at /properties/pick/const: enum and const values must be strings, numbers, booleans or null"),
        (#"{"type": "object", "properties": {"pick": {"enum": []}}}"#, "schema at /properties/pick: enum must be a non-empty array"),
        (#"{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["email"]}"#,
         #"schema at /: required property "email" is not in properties"#),
        (#"{"type": "object", "additionalProperties": {"type": "string"}}"#,
         "schema at /: additionalProperties must be false or true (schemas for extra properties are not supported)"),
        (#"{"type": "object", "properties": {"s": {"type": "string", "minLength": 3, "maxLength": 2}}}"#,
         "schema at /properties/s: minLength is greater than maxLength"),
        (#"{"type": "object", "properties": {"s": {"type": "array", "minItems": 1001}}}"#,
         "schema at /properties/s: minItems above 1000 is not supported"),
        (#"{"type": "object", "properties": {"s": {"type": "string", "maxLength": -1}}}"#,
         "schema at /properties/s: maxLength must be a non-negative integer"),
        (#"{"type": "object", "properties": {"s": false}}"#, "schema at /properties/s: a schema must be a JSON object (or true)"),
        (#"{"type": "object", "properties": {"s": {"type": 5}}}"#,
         "schema at /properties/s: type must be a type name or a non-empty list of them"),
    ]

    private func schemaError(_ schema: String) -> KernelError? {
        do {
            _ = try JSONSchemaGrammar.grammar(fromSchema: schema)
            return nil
        } catch {
            return error
        }
    }

    /// Each rule's body by name.
    private func rules(of grammar: String) -> [String: String] {
        Dictionary(grammar.split(separator: "\n").map { line in
            let parts = line.split(separator: " ::= ", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }, uniquingKeysWith: { first, _ in first })
    }
}

/// The model `make engine` fetches, whose vocabulary the grammar sampler needs.
private let testModelPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent(".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf").path

/// The grammars in llama.cpp itself: they must parse, let valid JSON through token by
/// token and stop invalid JSON at the token holding its first wrong byte.
@Suite(.serialized, .enabled(if: FileManager.default.fileExists(atPath: testModelPath), "no test model; run `make engine`"))
struct JSONSchemaGrammarInLlamaTests {
    @Test func theHarnessCanFail() throws {
        let vocabulary = try #require(Vocabulary.shared)
        #expect(!vocabulary.parses("root ::= undefined-rule"))
        #expect(!vocabulary.parses(#"root ::= "a"{2001}"#))
        #expect(try vocabulary.firstRejection(of: "ab", by: #"root ::= "a""#)?.contains(1) == true)
        #expect(try vocabulary.firstRejection(of: "a", by: #"root ::= "ab""#) == 1..<2, "cannot end after a")
        #expect(try vocabulary.firstRejection(of: "ab", by: #"root ::= "ab""#) == nil)
    }

    @Test(arguments: Example.all)
    func llamaFollowsTheGrammar(_ example: Example) throws {
        let vocabulary = try #require(Vocabulary.shared)
        let grammar = try JSONSchemaGrammar.grammar(fromSchema: example.schema)
        #expect(vocabulary.parses(grammar), "llama.cpp refused the grammar: \(LlamaBackend.lastError ?? "")\n\(grammar)")
        for json in example.accepted {
            #expect(try vocabulary.firstRejection(of: json, by: grammar) == nil, "should accept \(json)\n\(grammar)")
        }
        for marked in example.rejected {
            let json = marked.replacingOccurrences(of: Example.marker, with: "")
            let byteOffset = try marked[..<#require(marked.range(of: Example.marker)).lowerBound].utf8.count
            let rejection = try vocabulary.firstRejection(of: json, by: grammar)
            #expect(rejection?.contains(byteOffset) == true, "\(marked): refused at \(String(describing: rejection))\n\(grammar)")
        }
    }
}

extension JSONSchemaGrammarInLlamaTests {
    /// A schema with JSON it must accept and JSON it must refuse where `‸` marks the first wrong byte.
    struct Example: Sendable, CustomTestStringConvertible {
        static let marker = "‸"
        let name: String
        let schema: String
        let accepted: [String]
        let rejected: [String]
        var testDescription: String { name }

        static let all: [Example] = [
            Example(
                name: "required and optional properties",
                schema: #"""
                    {"type": "object", "additionalProperties": false, "required": ["name", "age"],
                     "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "email": {"type": "string"}}}
                    """#,
                accepted: [#"{"name": "Ada", "age": 36}"#, #"{"name":"Ada","age":36,"email":"ada@example.com"}"#,
                           "{\n  \"name\": \"Ada\",\n  \"age\": -7,\n  \"email\": \"\"\n}"],
                rejected: [#"{"‸age": 36, "name": "Ada"}"#, #"{"name": "Ada"‸}"#, #"{"name": "Ada", "age": 3‸.5}"#,
                           #"{"name": "Ada", "age": 36, "‸phone": "1"}"#, #"{"name": "Ada", "age": 36} ‸x"#]),
            Example(
                name: "only optional properties",
                schema: #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}, "c": {"type": "null"}}}"#,
                accepted: ["{}", #"{"b": true}"#, #"{"a": 1, "c": null}"#, #"{"a": 1, "b": false, "c": null}"#, #"{ "c": null }"#],
                rejected: [#"{"c": null‸, "a": 1}"#, #"{‸,"a": 1}"#, #"{"a": 1,‸}"#]),
            Example(
                name: "enum and const scalars",
                schema: #"""
                    {"type": "object", "required": ["status", "kind"], "properties": {
                      "status": {"enum": ["open", "closed", null, 3, 2.5, true]}, "kind": {"const": "ticket"},
                      "quote": {"const": "say \"hi\"\nnow \\ é"}}}
                    """#,
                accepted: [#"{"status": "open", "kind": "ticket"}"#, #"{"status": null, "kind": "ticket"}"#,
                           #"{"status": 2.5, "kind": "ticket", "quote": "say \"hi\"\nnow \\ é"}"#, #"{"status": true, "kind":"ticket"}"#],
                rejected: [#"{"status": "open‸ed", "kind": "ticket"}"#, #"{"status": ‸4, "kind": "ticket"}"#,
                           #"{"status": "open", "kind": "‸task"}"#]),
            Example(
                name: "arrays with bounds",
                schema: #"""
                    {"type": "object", "required": ["tags"], "properties": {
                      "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
                      "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}}}
                    """#,
                accepted: [#"{"tags": ["a"]}"#, #"{"tags": ["a", "b", "c"], "matrix": [[1, 2.5], [], [-3e2]]}"#],
                rejected: [#"{"tags": [‸]}"#, #"{"tags": ["a", "b", "c"‸, "d"]}"#, #"{"tags": [‸1]}"#]),
            Example(
                name: "nested object with a nullable property",
                schema: #"""
                    {"type": "object", "required": ["address"], "properties": {"address": {"type": "object", "required": ["city", "zip"],
                      "properties": {"city": {"type": "string"}, "zip": {"type": ["string", "null"]}}}}}
                    """#,
                accepted: [#"{"address": {"city": "Paris", "zip": null}}"#, #"{"address":{"city":"Paris","zip":"75001"}}"#],
                rejected: [#"{"address": {"city": "Paris", "zip": ‸7}}"#, #"{"address": {"city": "Paris"‸}}"#]),
            Example(
                name: "anyOf and oneOf",
                schema: #"""
                    {"type": "object", "required": ["value", "shape"], "properties": {
                      "value": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
                      "shape": {"oneOf": [{"type": "object", "properties": {"radius": {"type": "number"}}, "required": ["radius"]},
                                          {"type": "object", "properties": {"side": {"type": "number"}}, "required": ["side"]}]}}}
                    """#,
                accepted: [#"{"value": 3, "shape": {"radius": 1.5}}"#, #"{"value": false, "shape": {"side": 2}}"#],
                rejected: [#"{"value": ‸"3", "shape": {"side": 2}}"#, #"{"value": 3, "shape": {"‸width": 1}}"#]),
            Example(
                name: "recursive $ref at the top",
                schema: #"""
                    {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "required": ["name"], "properties": {
                      "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}}
                    """#,
                accepted: [#"{"name": "root"}"#, #"{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}"#],
                rejected: [#"{"name": "a", "children": [{‸}]}"#]),
            Example(
                name: "recursive $ref to the whole schema",
                schema: ##"{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "parent": {"$ref": "#"}}}"##,
                accepted: [#"{"name": "a", "parent": {"name": "b", "parent": {"name": "c"}}}"#],
                rejected: [#"{"name": "a", "parent": {‸}}"#]),
            Example(
                name: "definitions and string lengths",
                schema: #"""
                    {"type": "object", "required": ["code"], "definitions": {"code": {"type": "string", "minLength": 2, "maxLength": 4}},
                     "properties": {"code": {"$ref": "#/definitions/code"}, "note": {"type": "string", "maxLength": 5000}}}
                    """#,
                accepted: [#"{"code": "ab"}"#, #"{"code": "abcd", "note": "x"}"#],
                rejected: [#"{"code": "a‸"}"#, #"{"code": "abcd‸e"}"#]),
            Example(
                name: "numbers",
                schema: #"{"type": "object", "required": ["x", "n"], "properties": {"x": {"type": "number"}, "n": {"type": "integer"}}}"#,
                accepted: [#"{"x": -0.25, "n": 0}"#, #"{"x": 1.5e-3, "n": 1234567890123456}"#, #"{"x": 6.02E+23, "n": -9}"#],
                rejected: [#"{"x": 0‸1, "n": 1}"#, #"{"x": 1, "n": 1234567890123456‸7}"#, #"{"x": 1, "n": 1‸.0}"#, #"{"x": 1.‸, "n": 1}"#]),
            Example(
                name: "string escapes and unicode",
                schema: #"{"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}"#,
                accepted: [#"{"text": "line\nbreak \"quoted\" \\ \/ \u00e9 é 日本 🙂"}"#],
                rejected: ["{\"text\": \"a‸\nb\"}", #"{"text": "a\‸x"}"#]),
            Example(
                name: "any value and bounded whitespace",
                schema: #"{"type": "object", "properties": {"meta": {}, "flag": true}}"#,
                accepted: [#"{"meta": {"a": [1, "x", null, {"b": false}], "c": {}}, "flag": [[]]}"#, "{\n\t\"meta\": 1\n}"],
                rejected: ["{\n" + String(repeating: " ", count: 20) + "‸ \"meta\": 1}", #"{"meta": 1 ‸"flag": 2}"#]),
            Example(
                name: "awkward property names",
                schema: #"""
                    {"type": "object", "required": ["first name", "root", "space", "ключ", "a\"b"], "properties": {
                      "first name": {"type": "string"}, "root": {"type": "integer"}, "space": {"type": "boolean"},
                      "ключ": {"enum": ["да"]}, "a\"b": {"type": "null"}}}
                    """#,
                accepted: [#"{"first name": "Ada", "root": 1, "space": true, "ключ": "да", "a\"b": null}"#],
                rejected: [#"{"first name": "Ada", "root": 1, "space": true, "ключ": "‸no", "a\"b": null}"#]),
        ]
    }

    /// The test model's vocabulary (no weights), which is all llama.cpp's grammar sampler needs.
    final class Vocabulary: @unchecked Sendable {
        static let shared = Vocabulary(path: testModelPath)

        private let model: OpaquePointer
        private let vocab: OpaquePointer

        private init?(path: String) {
            LlamaBackend.initialize()
            var parameters = llama_model_default_params()
            parameters.vocab_only = true
            guard let model = llama_model_load_from_file(path, parameters), let vocab = llama_model_get_vocab(model) else { return nil }
            self.model = model
            self.vocab = vocab
        }

        deinit { llama_model_free(model) }

        func parses(_ grammar: String) -> Bool {
            guard let sampler = llama_sampler_init_grammar(vocab, grammar, "root") else { return false }
            llama_sampler_free(sampler)
            return true
        }

        /// The bytes of `text` in the first token the grammar refuses (its sampler sets the
        /// token's logit to -inf), `count..<count + 1` when it refuses to end after all of
        /// `text`, or nil when it takes every token and then end of generation.
        func firstRejection(of text: String, by grammar: String) throws -> Range<Int>? {
            let tokens = tokens(of: text)
            try #require(tokens.flatMap(piece) == Array(text.utf8), "tokens do not spell \(text)")
            let sampler = try #require(llama_sampler_init_grammar(vocab, grammar, "root"), "\(LlamaBackend.lastError ?? "")")
            defer { llama_sampler_free(sampler) }
            var offset = 0
            for token in tokens {
                let length = piece(token).count
                guard allows(sampler, token) else { return offset..<offset + length }
                llama_sampler_accept(sampler, token)
                offset += length
            }
            return allows(sampler, llama_vocab_eos(vocab)) ? nil : offset..<offset + 1
        }

        private func allows(_ sampler: UnsafeMutablePointer<llama_sampler>, _ token: llama_token) -> Bool {
            var candidate = llama_token_data(id: token, logit: 0, p: 0)
            return withUnsafeMutablePointer(to: &candidate) { pointer in
                var candidates = llama_token_data_array(data: pointer, size: 1, selected: -1, sorted: false)
                llama_sampler_apply(sampler, &candidates)
                return pointer.pointee.logit > -.infinity
            }
        }

        private func tokens(of text: String) -> [llama_token] {
            var tokens = [llama_token](repeating: 0, count: text.utf8.count + 1)
            let count = llama_tokenize(vocab, text, Int32(text.utf8.count), &tokens, Int32(tokens.count), false, false)
            return Array(tokens.prefix(Int(max(count, 0))))
        }

        private func piece(_ token: llama_token) -> [UInt8] {
            var buffer = [CChar](repeating: 0, count: 64)
            let count = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, false)
            return buffer.prefix(Int(max(count, 0))).map { UInt8(bitPattern: $0) }
        }
    }
}
