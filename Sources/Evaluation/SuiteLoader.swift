import Foundation
import Yams

/// Reads a suite file into a `Suite`: parses the YAML, fills template cases
/// from the cases file, and checks everything a run would trip on, with
/// errors that name the file and line.
public enum SuiteLoader {
    /// Reads the suite at `path` (its cases file relative to it).
    public static func load(_ path: String) throws(EvaluationError) -> Suite {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let missing = !FileManager.default.fileExists(atPath: path)
            throw EvaluationError("cannot read suite \(path): \(missing ? "no such file" : "not UTF-8 text")")
        }
        return try parse(text, path: path)
    }

    /// Reads a suite from `text`, as if from the file `path`.
    public static func parse(_ text: String, path: String) throws(EvaluationError) -> Suite {
        let file = URL(fileURLWithPath: path).lastPathComponent
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw yamlSyntaxError(error, file: file)
        }
        guard let root else { throw EvaluationError(file: file, "empty suite: expected target and cases") }
        let document: SuiteDocument
        do {
            document = try YAMLDecoder().decode(SuiteDocument.self, from: text)
        } catch let error as DecodingError {
            throw decodingError(error, file: file, root: root)
        } catch {
            throw yamlSyntaxError(error, file: file)
        }
        guard !document.cases.isEmpty else { throw EvaluationError(file: file, "empty suite: no cases") }

        let casesFile = try document.casesFile.map { name throws(EvaluationError) in
            let url = URL(fileURLWithPath: name, relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent())
            return try CasesFile(url, name: name)
        }
        let cases = try expand(document, file: file, casesFile: casesFile)
        return Suite(path: path, description: document.description, target: document.target, defaults: document.defaults, cases: cases)
    }

    /// The suite's cases with templates filled, checked.
    private static func expand(_ document: SuiteDocument, file: String, casesFile: CasesFile?) throws(EvaluationError) -> [EvalCase] {
        if let casesFile, !document.cases.contains(where: \.template) {
            throw EvaluationError(file: file, "cases_file \(casesFile.name) is given, but no case has template: true")
        }
        let vars = document.vars
        var cases: [EvalCase] = []
        for written in document.cases {
            let place = "\(file):\(written.line ?? 0)"
            let names = written.variableNames
            if !written.template {
                if let missing = names.first(where: { vars[$0] == nil }) {
                    throw EvaluationError("\(place): case \"\(written.description)\" uses {{\(missing)}}, but vars has no \(missing)")
                }
                cases.append(written.filled(with: vars, source: place))
                continue
            }
            guard let casesFile else {
                throw EvaluationError("\(place): case \"\(written.description)\" has template: true, but the suite has no cases_file")
            }
            if let columns = casesFile.columns, let missing = names.first(where: { !columns.contains($0) && vars[$0] == nil }) {
                throw EvaluationError(
                    "\(casesFile.name) has no column \"\(missing)\", used by the template case at \(place) (columns: \(columns.joined(separator: ", ")))")
            }
            guard !casesFile.rows.isEmpty else { throw EvaluationError("\(casesFile.name): no rows for the template case at \(place)") }
            for row in casesFile.rows {
                if let missing = names.first(where: { row.values[$0] == nil && vars[$0] == nil }) {
                    throw EvaluationError("\(row.source): the row has no \"\(missing)\", used by the template case at \(place)")
                }
                cases.append(written.filled(with: vars.merging(row.values) { $1 }, source: "\(place) (\(row.source))"))
            }
        }
        for evalCase in cases {
            if let problem = evalCase.assertions.lazy.compactMap({ $0.valueProblem() }).first {
                throw EvaluationError("\(evalCase.source): case \"\(evalCase.description)\": \(problem)")
            }
        }
        var seen: [String: String] = [:]
        for evalCase in cases {
            if let first = seen.updateValue(evalCase.source, forKey: evalCase.description) {
                throw EvaluationError(
                    "\(evalCase.source): two cases are named \"\(evalCase.description)\" (the other at \(first)); reports tell cases apart by description")
            }
        }
        return cases
    }
}
