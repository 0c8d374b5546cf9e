/// Named GBNF rules. A body that is already there is reused under its first name.
struct GBNFRuleSet {
    private var bodies: [String: String] = [:]
    private var nameOfBody: [String: String] = [:]

    static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "-")
    }

    /// The name `body` has, or `name` (made valid and unique) for it.
    mutating func add(_ name: String, _ body: String) -> String {
        if let existing = nameOfBody[body] { return existing }
        let unique = reserve(name)
        define(unique, body)
        return unique
    }

    /// A free name like `name`, for a rule defined later (so it can refer to itself).
    mutating func reserve(_ name: String) -> String {
        let words = name.split { !Self.isNameCharacter($0) || $0 == "-" }
        let base = words.isEmpty ? "rule" : words.joined(separator: "-")
        var unique = base, suffix = 2
        while bodies[unique] != nil {
            unique = "\(base)-\(suffix)"
            suffix += 1
        }
        bodies[unique] = ""
        return unique
    }

    mutating func define(_ name: String, _ body: String) {
        bodies[name] = body
        if nameOfBody[body] == nil { nameOfBody[body] = name }
    }

    /// The grammar: `root` first, then the other rules by name.
    var text: String {
        let others = bodies.filter { $0.key != "root" }.sorted { $0.key < $1.key }
        return "root ::= \(bodies["root"] ?? "")\n" + others.map { "\($0.key) ::= \($0.value)\n" }.joined()
    }
}
