/// A suite, cases file or report that cannot be used, or a target that is not
/// there: one line saying what, where (`FILE:LINE:COLUMN:` when known) and
/// what next.
public struct EvaluationError: Error, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// An error at a place in `file`: `support.yaml:12:9: message`.
    init(file: String, line: Int? = nil, column: Int? = nil, _ message: String) {
        let place = [file, line.map(String.init), line == nil ? nil : column.map(String.init)].compactMap { $0 }
        description = place.joined(separator: ":") + ": " + message
    }
}
