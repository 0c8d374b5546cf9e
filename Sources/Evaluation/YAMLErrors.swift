import Yams

/// Yams' errors as one line naming the file, line and column.
extension SuiteLoader {
    /// A YAML syntax error (a `YamlError`, or a decoding error wrapping one).
    static func yamlSyntaxError(_ error: Error, file: String) -> EvaluationError {
        switch error {
        case YamlError.scanner(let context, let problem, let mark, _),
             YamlError.parser(let context, let problem, let mark, _),
             YamlError.composer(let context, let problem, let mark, _):
            let context = context.map { " (\($0.text))" } ?? ""
            return EvaluationError(file: file, line: mark.line, column: mark.column, "not valid YAML: \(problem)\(context)")
        case YamlError.reader(let problem, _, _, _):
            return EvaluationError(file: file, "not valid YAML: \(problem)")
        case YamlError.dataCouldNotBeDecoded:
            return EvaluationError(file: file, "not UTF-8 text")
        case DecodingError.dataCorrupted(let context) where context.underlyingError != nil:
            return yamlSyntaxError(context.underlyingError!, file: file)
        default:
            return EvaluationError(file: file, "not valid YAML: \(error)")
        }
    }

    /// A document that is YAML but not a suite: a missing key, a wrong type,
    /// an unknown key or assertion type. `root` finds the line of the coding path.
    static func decodingError(_ error: DecodingError, file: String, root: Node) -> EvaluationError {
        let path: [CodingKey]
        let message: String
        switch error {
        case .keyNotFound(let key, let context):
            path = context.codingPath
            message = "missing key \"\(key.stringValue)\"" + (path.isEmpty ? "" : " in \(pathText(path))")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            path = context.codingPath
            message = "\(pathText(path)): expected \(typeName(type)), found \(nodeKind(node(at: path, in: root)))"
        case .dataCorrupted(let context):
            if context.underlyingError is YamlError { return yamlSyntaxError(context.underlyingError!, file: file) }
            path = context.codingPath
            message = (path.isEmpty ? "" : "\(pathText(path)): ") + context.debugDescription
        @unknown default:
            return EvaluationError(file: file, "\(error)")
        }
        let mark = marked(path, in: root)
        return EvaluationError(file: file, line: mark?.line, column: mark?.column, message)
    }

    /// `cases[3].assert[0].type`.
    private static func pathText(_ path: [CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "the suite" : text
    }

    /// The node at `path`, or nil when it is not there.
    private static func node(at path: [CodingKey], in root: Node) -> Node? {
        var node: Node? = root
        for key in path {
            if let index = key.intValue, let sequence = node?.sequence {
                node = index < sequence.count ? sequence[index] : nil
            } else {
                node = node?.mapping?[key.stringValue]
            }
        }
        return node
    }

    /// The mark of the deepest node along `path` that exists.
    private static func marked(_ path: [CodingKey], in root: Node) -> Mark? {
        for length in stride(from: path.count, through: 0, by: -1) {
            if let mark = node(at: Array(path.prefix(length)), in: root)?.mark { return mark }
        }
        return nil
    }

    private static func nodeKind(_ node: Node?) -> String {
        switch node {
        case .mapping?: "a map"
        case .sequence?: "a list"
        case .scalar(let scalar)? where scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null": "nothing"
        case .scalar(let scalar)?: "\"\(scalar.string)\""
        case nil: "nothing"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        default:
            switch "\(type)" {
            case let name where name.hasPrefix("Array") || name.contains("Sequence"): "a list"
            case let name where name.hasPrefix("Dictionary") || name.contains("Mapping"): "a map"
            default: "a single value"
            }
        }
    }
}
