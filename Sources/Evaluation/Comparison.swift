import Foundation

/// Two reports of a suite, case by case (matched by description): which
/// cases got worse, which got better, which appeared or went away.
public struct Comparison: Sendable, Equatable {
    /// A case whose pass rate moved.
    public struct Change: Sendable, Equatable {
        public var description: String
        /// `pass`/`FAIL` for one run, `2/3` with repeats.
        public var old: String
        public var new: String
        /// The new run's first failure, for a regression.
        public var failure: String?
    }

    public var oldPassRate: Double
    public var newPassRate: Double
    public var regressions: [Change] = []
    public var fixes: [Change] = []
    /// Cases in both reports whose pass rate did not move.
    public var unchanged = 0
    /// Descriptions of cases only in the old report, and only in the new one.
    public var removed: [String] = []
    public var added: [String] = []

    public init(old: EvalReport, new: EvalReport) {
        oldPassRate = old.summary.passRate
        newPassRate = new.summary.passRate
        let oldCases = Dictionary(old.cases.map { ($0.description, $0) }) { first, _ in first }
        let newNames = Set(new.cases.map(\.description))
        removed = old.cases.map(\.description).filter { !newNames.contains($0) }
        for newCase in new.cases {
            guard let oldCase = oldCases[newCase.description] else {
                added.append(newCase.description)
                continue
            }
            let change = Change(
                description: newCase.description, old: Self.result(oldCase), new: Self.result(newCase),
                failure: newCase.runs.lazy.compactMap(\.firstFailure).first)
            if newCase.passRate < oldCase.passRate {
                regressions.append(change)
            } else if newCase.passRate > oldCase.passRate {
                fixes.append(Change(description: change.description, old: change.old, new: change.new, failure: nil))
            } else {
                unchanged += 1
            }
        }
    }

    private static func result(_ report: EvalReport.CaseReport) -> String {
        report.runs.count == 1 ? (report.passedRuns == 1 ? "pass" : "FAIL") : "\(report.passedRuns)/\(report.runs.count)"
    }

    /// The comparison for people; `oldName` and `newName` name the reports.
    public func lines(oldName: String, newName: String) -> [String] {
        let points = (newPassRate - oldPassRate) * 100
        var lines = [
            "pass rate \(EvalReport.percent(oldPassRate)) → \(EvalReport.percent(newPassRate)) "
                + "(\(String(format: "%+.1f", points)) points); \(regressions.count) regressions, \(fixes.count) fixes, \(unchanged) unchanged",
        ]
        if !regressions.isEmpty {
            lines.append("regressions:")
            lines += regressions.map { "  - \($0.description): \($0.old) → \($0.new)" + ($0.failure.map { " (\($0))" } ?? "") }
        }
        if !fixes.isEmpty {
            lines.append("fixes:")
            lines += fixes.map { "  + \($0.description): \($0.old) → \($0.new)" }
        }
        if !removed.isEmpty { lines.append("only in \(oldName): " + removed.joined(separator: ", ")) }
        if !added.isEmpty { lines.append("only in \(newName): " + added.joined(separator: ", ")) }
        return lines
    }
}
