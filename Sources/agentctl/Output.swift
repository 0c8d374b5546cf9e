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
/// the last column is not padded.
func printTable(_ rows: [[String]]) {
    var widths: [Int] = []
    for row in rows {
        for (column, cell) in row.enumerated() {
            if column == widths.count { widths.append(0) }
            widths[column] = max(widths[column], cell.count)
        }
    }
    for row in rows {
        let cells = row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : padded(cell, to: widths[column])
        }
        print(cells.joined(separator: "   "))
    }
}
