import Foundation
import Yams

/// The rows that fill a suite's template cases: a CSV file with a header
/// line, or a YAML list of maps.
struct CasesFile {
    /// One row: its values by column name, and where it is written.
    struct Row {
        var values: [String: String]
        /// `products.csv:4`.
        var source: String
    }

    /// The file as the suite names it, for messages.
    var name: String
    /// A CSV file's header; nil for YAML, whose rows may differ.
    var columns: [String]?
    var rows: [Row]

    /// Reads `url`; `name` is how messages call it.
    init(_ url: URL, name: String) throws(EvaluationError) {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw EvaluationError("cannot read cases file \(name): \(Self.reason(error))")
        }
        switch url.pathExtension.lowercased() {
        case "csv": try self.init(csv: text, name: name)
        case "yaml", "yml": try self.init(yaml: text, name: name)
        default: throw EvaluationError("cases file \(name): give a .csv file with a header line, or a .yaml list of maps")
        }
    }

    private init(csv text: String, name: String) throws(EvaluationError) {
        self.name = name
        let records: [CSVReader.Record]
        do {
            records = try CSVReader.records(text)
        } catch {
            throw EvaluationError(file: name, line: error.line, "a quoted field is never closed")
        }
        guard let header = records.first else { throw EvaluationError(file: name, "empty: expected a header line and rows") }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        if let duplicate = columns.enumerated().first(where: { columns[..<$0.offset].contains($0.element) }) {
            throw EvaluationError(file: name, line: header.line, "column \"\(duplicate.element)\" appears twice in the header")
        }
        self.columns = columns
        rows = try records.dropFirst().map { record throws(EvaluationError) in
            guard record.fields.count == columns.count else {
                throw EvaluationError(
                    file: name, line: record.line, "\(record.fields.count) fields, but the header has \(columns.count)")
            }
            return Row(values: Dictionary(uniqueKeysWithValues: zip(columns, record.fields)), source: "\(name):\(record.line)")
        }
    }

    private init(yaml text: String, name: String) throws(EvaluationError) {
        self.name = name
        columns = nil
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SuiteLoader.yamlSyntaxError(error, file: name)
        }
        guard let list = root?.sequence else {
            throw EvaluationError(file: name, line: root?.mark?.line, column: root?.mark?.column, "expected a list of maps (one per row)")
        }
        rows = try list.map { item throws(EvaluationError) in
            guard let mapping = item.mapping else {
                throw EvaluationError(file: name, line: item.mark?.line, column: item.mark?.column, "a row must be a map of names to values")
            }
            var values: [String: String] = [:]
            for (key, value) in mapping {
                guard let key = key.scalar?.string, let value = value.scalar?.string else {
                    throw EvaluationError(file: name, line: value.mark?.line, column: value.mark?.column, "row values must be plain values, not lists or maps")
                }
                values[key] = value
            }
            return Row(values: values, source: "\(name):\(item.mark?.line ?? 0)")
        }
    }

    private static func reason(_ error: Error) -> String {
        let error = error as NSError
        if error.domain == NSCocoaErrorDomain, error.code == NSFileReadNoSuchFileError { return "no such file" }
        return error.localizedDescription
    }
}
