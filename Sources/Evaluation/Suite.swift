import Foundation

/// A suite ready to run: its target agent and its cases, with templates
/// filled from the cases file. `SuiteLoader` reads one from YAML:
///
/// ```yaml
/// description: Customer service over the catalog
/// target: support                 # the agent every input is sent to
/// defaults:
///   timeout_ms: 60000             # per answer; a case past it fails
///   repeat: 1                     # runs per case (--repeat overrides)
///   seed: 42                      # recorded in the report only: the agent
///   temperature: 0                # chooses its own sampling
/// vars: {shop: outdoor gear}      # fill {{shop}} anywhere
/// cases_file: products.csv        # rows for the template cases (CSV with a header, or a YAML list of maps)
/// cases:
///   - description: Price of {{sku}}
///     template: true              # one case per row of cases_file
///     category: price             # optional, for pass rates per category
///     input: How much does the {{sku}} cost?
///     assert:
///       - {type: contains, value: "{{price}}"}
///       - {type: tool-called, value: catalog.lookup_product, args: {sku: "{{sku}}"}}
/// ```
public struct Suite: Sendable, Equatable {
    /// The suite file, as given.
    public var path: String
    public var description: String?
    /// The agent every case's input is sent to.
    public var target: String
    public var defaults: Defaults
    public var cases: [EvalCase]

    public init(path: String, description: String? = nil, target: String, defaults: Defaults = Defaults(), cases: [EvalCase]) {
        self.path = path
        self.description = description
        self.target = target
        self.defaults = defaults
        self.cases = cases
    }

    /// The suite with only the cases whose description matches `pattern` (a
    /// regular expression, anywhere in the description).
    public func filtered(matching pattern: String) throws(EvaluationError) -> Suite {
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw EvaluationError("--filter \"\(pattern)\" is not a regular expression: \(error)")
        }
        var suite = self
        suite.cases = cases.filter { $0.description.contains(regex) }
        guard !suite.cases.isEmpty else { throw EvaluationError("no case of \(path) matches --filter \"\(pattern)\"") }
        return suite
    }
}

/// Settings for every case of a suite.
///
/// `seed` and `temperature` are recorded in the report for the record only:
/// cases go to the agent as messages, and the agent decides how it samples.
public struct Defaults: Sendable, Equatable, Decodable {
    /// How long to wait for each answer; a case that gets none in time fails.
    public var timeoutMs: Int
    /// How many times each case runs.
    public var `repeat`: Int
    public var seed: Int?
    public var temperature: Double?

    public init(timeoutMs: Int = 60_000, repeat: Int = 1, seed: Int? = nil, temperature: Double? = nil) {
        self.timeoutMs = timeoutMs
        self.repeat = `repeat`
        self.seed = seed
        self.temperature = temperature
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case timeoutMs = "timeout_ms", `repeat`, seed, temperature
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "defaults")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeoutMs = try container.decodeIfPresent(Int.self, forKey: .timeoutMs) ?? 60_000
        self.repeat = try container.decodeIfPresent(Int.self, forKey: .repeat) ?? 1
        seed = try container.decodeIfPresent(Int.self, forKey: .seed)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        guard (1...Int(UInt32.max)).contains(timeoutMs) else {
            throw DecodingError.dataCorruptedError(forKey: .timeoutMs, in: container, debugDescription: "timeout_ms must be at least 1")
        }
        guard self.repeat >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .repeat, in: container, debugDescription: "repeat must be at least 1")
        }
    }
}

/// One case to run: a message for the target and what its answer must satisfy.
public struct EvalCase: Sendable, Equatable {
    /// Names the case in reports; unique in its suite.
    public var description: String
    /// Groups cases for pass rates per category.
    public var category: String?
    /// The message sent to the agent.
    public var input: String
    public var assertions: [Assertion]
    /// Where it is written: `support.yaml:30`, with the cases file's row for a template.
    public var source: String

    public init(description: String, category: String? = nil, input: String, assertions: [Assertion], source: String = "") {
        self.description = description
        self.category = category
        self.input = input
        self.assertions = assertions
        self.source = source
    }
}
