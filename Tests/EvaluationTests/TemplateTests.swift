import Foundation
import Testing
@testable import Evaluation

/// `{{var}}` templates, and the CSV and YAML cases files whose rows fill them.
@Suite struct TemplateTests {
    @Test func variablesAreFilledAndUnknownOnesLeftAsWritten() {
        #expect(Template.fill("How much is the {{sku}}? {{ sku }}!", with: ["sku": "A-200"]) == "How much is the A-200? A-200!")
        #expect(Template.fill("{{missing}} and {{}} and {{\"a\": 1}}", with: [:]) == "{{missing}} and {{}} and {{\"a\": 1}}")
        #expect(Template.variableNames(in: "{{a}} {{b-c}} {{a}} {{ d_1 }} {{x y}}") == ["a", "b-c", "d_1"])
        #expect(Template.fill("{{a}}{{b}}", with: ["a": "{{b}}", "b": "2"]) == "{{b}}2")
    }

    @Test func aCSVTemplateCaseRunsOncePerRow() throws {
        let suite = try load("""
            target: support
            vars: {currency: USD}
            cases_file: products.csv
            cases:
              - description: Price of {{sku}}
                template: true
                category: price
                input: How much does the {{sku}} ({{name}}) cost in {{currency}}?
                assert:
                  - {type: contains, value: "{{price}}"}
                  - {type: tool-called, value: catalog.lookup_product, args: {sku: "{{sku}}"}}
              - description: Plain
                input: hello
            """, files: ["products.csv": "sku,name,price\nA-100,\"Tent, 2P\",199\r\nA-200,\"Bag \"\"down\"\"\",229\n\n"]).get()
        #expect(suite.cases.map(\.description) == ["Price of A-100", "Price of A-200", "Plain"])
        #expect(suite.cases[0].input == "How much does the A-100 (Tent, 2P) cost in USD?")
        #expect(suite.cases[1].input == "How much does the A-200 (Bag \"down\") cost in USD?")
        #expect(suite.cases[1].assertions[0].value == .scalar("229"))
        #expect(suite.cases[1].assertions[1].args == .map([.init(key: "sku", value: .scalar("A-200"))]))
        #expect(suite.cases[1].source == "suite.yaml:5 (products.csv:3)")
        #expect(suite.cases[2].source == "suite.yaml:12")
    }

    @Test func aYAMLCasesFileWorksToo() throws {
        let suite = try load("""
            target: t
            cases_file: rows.yaml
            cases:
              - {description: "Q {{n}}", template: true, input: "{{q}}", assert: [{type: equals, value: "{{a}}"}]}
            """, files: ["rows.yaml": "- {n: 1, q: one?, a: yes}\n- n: 2\n  q: two?\n  a: no\n"]).get()
        #expect(suite.cases.map(\.input) == ["one?", "two?"])
        #expect(suite.cases.map { $0.assertions[0].value } == [.scalar("yes"), .scalar("no")])
        #expect(suite.cases[1].source == "suite.yaml:4 (rows.yaml:2)")
    }

    static let template = """
        target: t
        cases_file: products.csv
        cases:
          - description: Price of {{sku}}
            template: true
            input: How much is the {{sku}}?
            assert: [{type: contains, value: "{{price}}"}]
        """

    @Test func aColumnTheTemplateUsesMustBeInTheCasesFile() {
        let message = loadError(Self.template, files: ["products.csv": "sku,cost\nA-100,199\n"])
        #expect(message == "products.csv has no column \"price\", used by the template case at suite.yaml:4 (columns: sku, cost)", "\(message)")
        let yaml = loadError(Self.template.replacingOccurrences(of: "products.csv", with: "rows.yaml"), files: ["rows.yaml": "- {sku: A, price: 1}\n- {sku: B}\n"])
        #expect(yaml == "rows.yaml:2: the row has no \"price\", used by the template case at suite.yaml:4", "\(yaml)")
    }

    @Test func badCasesFilesAreNamed() {
        #expect(loadError(Self.template) == "cannot read cases file products.csv: no such file")
        #expect(loadError(Self.template, files: ["products.csv": ""]) == "products.csv: empty: expected a header line and rows")
        #expect(loadError(Self.template, files: ["products.csv": "sku,price\n"]) == "products.csv: no rows for the template case at suite.yaml:4")
        #expect(loadError(Self.template, files: ["products.csv": "sku,price\nA,1\nB,2,3\n"]) == "products.csv:3: 3 fields, but the header has 2")
        #expect(loadError(Self.template, files: ["products.csv": "sku,price\nA,\"1\n"]) == "products.csv:2: a quoted field is never closed")
        #expect(loadError(Self.template, files: ["products.csv": "sku,sku\nA,1\n"]) == "products.csv:1: column \"sku\" appears twice in the header")
        let notList = Self.template.replacingOccurrences(of: "products.csv", with: "rows.yaml")
        #expect(loadError(notList, files: ["rows.yaml": "sku: A\n"]) == "rows.yaml:1:1: expected a list of maps (one per row)")
        #expect(loadError(notList, files: ["rows.yaml": "- {sku: [A]}\n"]).hasPrefix("rows.yaml:1:"))
        #expect(loadError(notList, files: ["rows.yaml": "- [\n"]).contains("rows.yaml:2:1: not valid YAML"))
        let other = Self.template.replacingOccurrences(of: "products.csv", with: "rows.txt")
        #expect(loadError(other, files: ["rows.txt": "x"]).contains("give a .csv file with a header line, or a .yaml list of maps"))
    }

    @Test func templatesAndCasesFilesGoTogether() {
        let noFile = loadError("target: t\ncases:\n  - {description: a, template: true, input: x}\n")
        #expect(noFile == "suite.yaml:3: case \"a\" has template: true, but the suite has no cases_file", "\(noFile)")
        let noTemplate = loadError("target: t\ncases_file: p.csv\ncases:\n  - {description: a, input: x}\n", files: ["p.csv": "a\n1\n"])
        #expect(noTemplate == "suite.yaml: cases_file p.csv is given, but no case has template: true", "\(noTemplate)")
        let unknownVar = loadError("target: t\ncases:\n  - {description: a, input: \"{{who}}\"}\n")
        #expect(unknownVar == "suite.yaml:3: case \"a\" uses {{who}}, but vars has no who", "\(unknownVar)")
    }

    @Test func csvRecordsFollowRFC4180() throws {
        let records = try CSVReader.records("a,b\n\"x, \"\"y\"\"\",\"two\nlines\"\r\n,\n\"\",z")
        #expect(records == [
            .init(fields: ["a", "b"], line: 1),
            .init(fields: ["x, \"y\"", "two\nlines"], line: 2),
            .init(fields: ["", ""], line: 4),
            .init(fields: ["", "z"], line: 5),
        ])
    }
}
