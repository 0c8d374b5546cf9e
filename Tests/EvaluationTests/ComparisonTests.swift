import Foundation
import Testing
@testable import Evaluation

/// `--compare`: regressions and fixes case by case.
@Suite struct ComparisonTests {
    static func report(_ outcomes: [(String, [Bool])]) -> EvalReport {
        let suite = Suite(path: "s.yaml", target: "t", cases: outcomes.map {
            EvalCase(description: $0.0, input: "q", assertions: [Assertion(.contains, .scalar("ok"))])
        })
        let results = outcomes.enumerated().flatMap { index, outcome in
            outcome.1.enumerated().map { repetition, passed in
                RunResult(caseIndex: index, repetition: repetition, case: suite.cases[index], observation: Observation(reply: passed ? "ok" : "no", latencyMs: 1))
            }
        }
        return EvalReport(suite: suite, results: results, concurrency: 1, threshold: nil, startedAt: Date())
    }

    @Test func regressionsFixesAndCasesThatCameOrWent() {
        let old = Self.report([("a", [true]), ("b", [false]), ("c", [true]), ("gone", [true])])
        let new = Self.report([("a", [false]), ("b", [true]), ("c", [true]), ("new", [false])])
        let comparison = Comparison(old: old, new: new)
        #expect(comparison.regressions.map(\.description) == ["a"])
        #expect(comparison.regressions[0].failure == #"contains "ok": the answer lacks "ok""#)
        #expect(comparison.fixes.map(\.description) == ["b"])
        #expect(comparison.unchanged == 1)
        #expect(comparison.removed == ["gone"] && comparison.added == ["new"])
        #expect(comparison.lines(oldName: "old.json", newName: "new.json") == [
            "pass rate 75.0% → 50.0% (-25.0 points); 1 regressions, 1 fixes, 1 unchanged",
            "regressions:",
            #"  - a: pass → FAIL (contains "ok": the answer lacks "ok")"#,
            "fixes:",
            "  + b: FAIL → pass",
            "only in old.json: gone",
            "only in new.json: new",
        ])
    }

    @Test func repeatsCompareByPassRate() {
        let comparison = Comparison(old: Self.report([("a", [true, true, false])]), new: Self.report([("a", [true, false, false])]))
        #expect(comparison.regressions.map { "\($0.old) → \($0.new)" } == ["2/3 → 1/3"])
        #expect(Comparison(old: Self.report([("a", [true])]), new: Self.report([("a", [true])])).lines(oldName: "o", newName: "n") == [
            "pass rate 100.0% → 100.0% (+0.0 points); 0 regressions, 0 fixes, 1 unchanged",
        ])
    }
}
