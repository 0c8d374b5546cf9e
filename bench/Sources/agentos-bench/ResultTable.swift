import Foundation

/// The rows of `make bench`: a markdown table on stdout and the same rows as JSON.
struct ResultTable {
    enum Unit { case nanoseconds, perSecond, perMinute, tokensPerSecond }

    struct Row: Codable {
        var benchmark: String
        var agentos: String
        var baseline: String
        var baselineIs: String
        var ratio: String
        var goal: String
        var agentosValue: Double?
        var baselineValue: Double?

        enum CodingKeys: String, CodingKey {
            case benchmark, agentos, baseline, ratio, goal
            case baselineIs = "baseline is"
            case agentosValue = "agentos_value"
            case baselineValue = "baseline_value"
        }
    }

    private(set) var rows: [Row] = []
    private let started = DispatchTime.now().uptimeNanoseconds

    /// A measured figure beside its baseline; the ratio is agentos / baseline.
    /// With `showsDifference` (for goals such as "≤ baseline + 100 ns") the
    /// figure is followed by its difference from the baseline: "2.4 µs (+47 ns)".
    mutating func add(
        _ benchmark: String, agentos: Double, baseline: Double, unit: Unit, baselineIs: String, goal: String,
        lowerIsBetter: Bool, showsDifference: Bool = false
    ) {
        var figure = Self.format(agentos, unit)
        if showsDifference {
            figure += " (\(agentos >= baseline ? "+" : "−")\(Self.format(abs(agentos - baseline), unit)))"
        }
        rows.append(Row(
            benchmark: benchmark, agentos: figure, baseline: Self.format(baseline, unit),
            baselineIs: baselineIs, ratio: String(format: "%.2f×", agentos / baseline), goal: goal,
            agentosValue: agentos, baselineValue: baseline))
        progress()
    }

    /// A reported figure with no ratio (a later issue sets its goal).
    mutating func addReport(_ benchmark: String, value: String, baseline: String, baselineIs: String) {
        rows.append(Row(benchmark: benchmark, agentos: value, baseline: baseline, baselineIs: baselineIs, ratio: "–", goal: "report"))
        progress()
    }

    /// Shows the row just added on stderr, with the time so far: the whole table comes only at the end.
    private func progress() {
        guard let row = rows.last else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let line = String(format: "agentos-bench: %4.0f s  ", seconds) + "\(row.benchmark): \(row.agentos) vs \(row.baseline) (\(row.ratio))\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    var markdown: String {
        var lines = ["| benchmark | agentos | baseline | baseline is | ratio | goal |", "|---|---|---|---|---|---|"]
        for row in rows {
            lines.append("| \(row.benchmark) | \(row.agentos) | \(row.baseline) | \(row.baselineIs) | \(row.ratio) | \(row.goal) |")
        }
        return lines.joined(separator: "\n")
    }

    func writeJSON(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(rows).write(to: URL(fileURLWithPath: path))
    }

    private static func format(_ value: Double, _ unit: Unit) -> String {
        switch unit {
        case .nanoseconds:
            value >= 1_000_000_000 ? String(format: "%.2f s", value / 1_000_000_000)
                : value >= 1_000_000 ? String(format: "%.2f ms", value / 1_000_000)
                : value >= 1_000 ? String(format: "%.1f µs", value / 1_000) : String(format: "%.0f ns", value)
        case .perSecond:
            value >= 1_000_000 ? String(format: "%.2f M/s", value / 1_000_000) : String(format: "%.0f k/s", value / 1_000)
        case .perMinute:
            String(format: "%.1f/min", value)
        case .tokensPerSecond:
            String(format: value >= 100 ? "%.0f t/s" : "%.1f t/s", value)
        }
    }
}
