import Yams

/// A suite file as written, before templates are filled (see `Suite` for the format).
struct SuiteDocument: Decodable {
    var description: String?
    var target: String
    var defaults: Defaults
    var vars: [String: String]
    var casesFile: String?
    var cases: [CaseDocument]

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case description, target, defaults, vars, casesFile = "cases_file", cases
    }

    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "a suite")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        target = try container.decode(String.self, forKey: .target)
        guard !target.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .target, in: container, debugDescription: "target must name an agent")
        }
        defaults = try container.decodeIfPresent(Defaults.self, forKey: .defaults) ?? Defaults()
        vars = try container.decodeIfPresent([String: String].self, forKey: .vars) ?? [:]
        casesFile = try container.decodeIfPresent(String.self, forKey: .casesFile)
        cases = try container.decodeIfPresent([CaseDocument].self, forKey: .cases) ?? []
    }
}

/// One entry of a suite's `cases`, as written.
struct CaseDocument: Decodable {
    var description: String
    var category: String?
    var input: String
    var assertions: [Assertion]
    /// One case per row of the cases file, its `{{column}}`s filled from the row.
    var template: Bool
    /// Its line in the suite file.
    var line: Int?

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case description, category, input, assert, template
    }

    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "a case")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        description = try container.decode(String.self, forKey: .description)
        category = try container.decodeIfPresent(String.self, forKey: .category)
        input = try container.decode(String.self, forKey: .input)
        assertions = try container.decodeIfPresent([Assertion].self, forKey: .assert) ?? []
        template = try container.decodeIfPresent(Bool.self, forKey: .template) ?? false
        line = decoder.mark?.line
    }

    /// Every variable name it uses.
    var variableNames: [String] {
        var names: [String] = []
        for name in [description, category ?? "", input].flatMap(Template.variableNames) + assertions.flatMap(\.variableNames)
        where !names.contains(name) {
            names.append(name)
        }
        return names
    }

    /// The case with its `{{name}}`s filled from `variables`.
    func filled(with variables: [String: String], source: String) -> EvalCase {
        EvalCase(
            description: Template.fill(description, with: variables),
            category: category.map { Template.fill($0, with: variables) },
            input: Template.fill(input, with: variables),
            assertions: assertions.map { $0.filled(with: variables) },
            source: source)
    }
}
