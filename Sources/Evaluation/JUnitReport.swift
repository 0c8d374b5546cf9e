import Foundation

/// A report as JUnit XML, which CI systems (Jenkins, GitLab, GitHub
/// Actions' reporters) show as tests: one `testsuite` for the suite, one
/// `testcase` per run of a case, with a `failure` when it failed and the
/// reply in `system-out`. Times are the answers' latencies (summed for the
/// suite; runs overlap, so the run itself took less).
extension EvalReport {
    public var junitXML: String {
        let failures = summary.runs - summary.passedRuns
        let time = cases.flatMap(\.runs).reduce(0) { $0 + $1.latencyMs } / 1000
        let timestamp = ISO8601DateFormatter().string(from: startedAt)
        let suiteName = URL(fileURLWithPath: suite).lastPathComponent
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="agentctl eval" tests="\(summary.runs)" failures="\(failures)" errors="0" time="\(Self.secondsText(time))">
              <testsuite name="\(Self.escaped(suiteName))" tests="\(summary.runs)" failures="\(failures)" errors="0" skipped="0" \
            time="\(Self.secondsText(time))" timestamp="\(timestamp)">
                <properties>
                  <property name="target" value="\(Self.escaped(target))"/>
                  <property name="pass_rate" value="\(String(format: "%.4f", summary.passRate))"/>
                </properties>

            """
        for report in cases {
            let classname = Self.escaped("\(target).\(report.category ?? "cases")")
            for run in report.runs {
                let name = report.runs.count > 1 ? "\(report.description) (run \(run.repetition + 1))" : report.description
                xml += "    <testcase name=\"\(Self.escaped(name))\" classname=\"\(classname)\" time=\"\(Self.secondsText(run.latencyMs / 1000))\">\n"
                if let failure = run.failure {
                    xml += "      <failure message=\"\(Self.escaped(failure))\" type=\"no-answer\">\(Self.escaped(failure))</failure>\n"
                } else if let first = run.assertions.first(where: { !$0.passed }), let message = run.firstFailure {
                    let all = run.assertions.filter { !$0.passed }.map { "\($0.assertion): \($0.detail)" }.joined(separator: "\n")
                    xml += "      <failure message=\"\(Self.escaped(message))\" type=\"\(first.type)\">\(Self.escaped(all))</failure>\n"
                }
                xml += "      <system-out>\(Self.escaped(run.reply))</system-out>\n"
                xml += "    </testcase>\n"
            }
        }
        return xml + "  </testsuite>\n</testsuites>\n"
    }

    private static func secondsText(_ seconds: Double) -> String {
        String(format: "%.3f", seconds)
    }

    /// `text` safe in XML 1.0 text and attribute values: markup characters
    /// escaped, line breaks in attributes kept as character references, and
    /// characters XML cannot carry (most controls) replaced by U+FFFD.
    static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\n": result += "&#10;"
            case "\r": result += "&#13;"
            case "\t": result += "&#9;"
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: result += "\u{FFFD}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
