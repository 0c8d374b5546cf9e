import Foundation

/// A report as people read it: a row per case, then the summary lines.
extension EvalReport {
    /// The table: CASE, RESULT (pass or FAIL; passed/runs with repeats),
    /// LATENCY (median), TOKENS (generated, mean), FIRST FAILURE.
    public var tableRows: [[String]] {
        [["CASE", "RESULT", "LATENCY", "TOKENS", "FIRST FAILURE"]] + cases.map { report in
            let runs = report.runs
            let result = runs.count == 1 ? (report.passedRuns == 1 ? "pass" : "FAIL") : "\(report.passedRuns)/\(runs.count)"
            let latency = Statistics.percentile(50, of: runs.map(\.latencyMs)).map(Self.seconds) ?? "-"
            let tokens = runs.compactMap(\.generatedTokens)
            let failure = runs.lazy.compactMap(\.firstFailure).first
            return [
                Self.cut(report.description, 48), result, latency,
                tokens.isEmpty ? "-" : "\(tokens.reduce(0, +) / tokens.count)", Self.cut(failure ?? "", 110),
            ]
        }
    }

    /// The summary: pass rate with its interval (and spread over repeats),
    /// latency, tokens and cost, tool-call accuracy, pass rates per category.
    public var summaryLines: [String] {
        let s = summary
        let interval = s.passRateInterval95.map(Self.percent).joined(separator: "–")
        var lines = [
            "\(s.cases) cases × \(settings.repeat) run\(settings.repeat == 1 ? "" : "s"): \(s.passedRuns)/\(s.runs) passed, "
                + "pass rate \(Self.percent(s.passRate)) (95% interval \(interval)), mean score \(String(format: "%.2f", s.meanScore))",
        ]
        if s.repeatPassRates.count > 1, let low = s.repeatPassRates.min(), let high = s.repeatPassRates.max() {
            lines.append("over \(s.repeatPassRates.count) repeats: pass rate min \(Self.percent(low)), max \(Self.percent(high))")
        }
        if let latency = s.latencyMs {
            lines.append("latency: p50 \(Self.seconds(latency.p50)), p95 \(Self.seconds(latency.p95)), max \(Self.seconds(latency.max))"
                + (s.unanswered > 0 ? "; \(s.unanswered) run\(s.unanswered == 1 ? "" : "s") got no answer" : ""))
        } else if s.unanswered > 0 {
            lines.append("no run got an answer")
        }
        if let prompt = s.promptTokens, let generated = s.generatedTokens, let cost = s.costTokens {
            lines.append("tokens: \(prompt) in, \(generated) out; cost \(cost) tokens (\(s.runs == 0 ? 0 : cost / s.runs) per run)")
        }
        if let accuracy = s.toolCallAccuracy {
            lines.append("tool calls: \(s.toolAssertionsPassed)/\(s.toolAssertions) tool-called assertions passed (\(Self.percent(accuracy)))")
        }
        if !s.categories.isEmpty {
            lines.append("by category: " + s.categories.map { "\($0.name) \($0.passedRuns)/\($0.runs) (\(Self.percent($0.passRate)))" }
                .joined(separator: ", "))
        }
        return lines
    }

    /// `32.1%`.
    static func percent(_ rate: Double) -> String {
        String(format: "%.1f%%", rate * 100)
    }

    /// `4.21s`, or `850ms` below a second.
    static func seconds(_ milliseconds: Double) -> String {
        milliseconds < 1000 ? String(format: "%.0fms", milliseconds) : String(format: "%.2fs", milliseconds / 1000)
    }

    /// `text` on one line, cut to `length` characters.
    static func cut(_ text: String, _ length: Int) -> String {
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.count <= length ? line : line.prefix(length - 1) + "…"
    }
}
