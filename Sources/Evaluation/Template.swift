import Foundation

/// `{{name}}` templates: a case's text with variables from the suite's `vars`
/// and the rows of its cases file.
enum Template {
    /// `text` with every `{{name}}` (spaces inside the braces allowed)
    /// replaced by `variables[name]`; unknown names are left as written.
    static func fill(_ text: String, with variables: [String: String]) -> String {
        var result = ""
        var rest = Substring(text)
        while let (range, name) = nextVariable(in: rest) {
            result += rest[..<range.lowerBound]
            result += variables[name] ?? String(rest[range])
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    /// The names `text` uses, in order of first use.
    static func variableNames(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let (range, name) = nextVariable(in: rest) {
            if !names.contains(name) { names.append(name) }
            rest = rest[range.upperBound...]
        }
        return names
    }

    /// The first `{{name}}` in `text`, where `name` is letters, digits, `_`
    /// and `-` (so `{{ }}` or JSON's `{{"a": 1}}` is plain text).
    private static func nextVariable(in text: Substring) -> (Range<Substring.Index>, String)? {
        var searchStart = text.startIndex
        while let open = text[searchStart...].range(of: "{{") {
            guard let close = text[open.upperBound...].range(of: "}}") else { return nil }
            let name = text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                return (open.lowerBound..<close.upperBound, name)
            }
            searchStart = open.upperBound
        }
        return nil
    }
}
