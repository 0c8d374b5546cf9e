import ArgumentParser
import ControlAPI
import Foundation

/// What a command prints: aligned text for people, or JSON for scripts.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}

/// Prints `value` as indented JSON with sorted snake_case keys.
func printJSON<Value: Encodable>(_ value: Value) throws {
    print(String(decoding: try ControlJSON.encoder(pretty: true).encode(value), as: UTF8.self))
}

/// Prints `rows` as columns aligned with spaces, the way `docker ps` does;
/// the last column is not padded. One write for the whole table.
func printTable(_ rows: [[String]]) {
    let lengths = rows.map { $0.map(\.count) }
    var widths: [Int] = []
    for row in lengths {
        for (column, length) in row.enumerated() {
            if column == widths.count { widths.append(0) }
            widths[column] = max(widths[column], length)
        }
    }
    var text = ""
    text.reserveCapacity(rows.count * (widths.reduce(0, +) + 3 * widths.count))
    for (row, lengths) in zip(rows, lengths) {
        for (column, cell) in row.enumerated() {
            text += cell
            let last = column == row.count - 1
            text += last ? "\n" : String(repeating: " ", count: widths[column] - lengths[column] + 3)
        }
    }
    print(text, terminator: "")
}
