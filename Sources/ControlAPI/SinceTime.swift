import Foundation

/// The `--since` of `agentctl logs`, `feedback stats` and `audit`, and the
/// `since` of `GET /v1/audit`: a duration back from now, or (for the audit) a time.
public enum SinceTime {
    /// What `seconds` accepts, for error messages.
    public static let acceptedDuration = "a duration such as 30s, 10m, 2h or 7d"
    /// What `date` accepts, for error messages.
    public static let accepted = acceptedDuration + ", or an RFC 3339 time such as 2026-11-25T10:00:00Z"

    /// Seconds in a duration: `30s`, `10m`, `2h`, `7d`, or plain seconds; nil
    /// for anything else (a sign, an exponent, more than a hundred years).
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        let (number, unit) = text.last.flatMap { units[$0] }.map { (text.dropLast(), $0) } ?? (Substring(text), 1)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isWholeNumber || $0 == ".") }),
              let value = Double(number), value.isFinite, value <= 100 * 365 * 86_400 / unit
        else { return nil }
        return value * unit
    }

    /// The time `text` names: an RFC 3339 time, or a duration back from `now`. nil when it is neither.
    public static func date(_ text: String, now: Date = Date()) -> Date? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return seconds(text).map { now.addingTimeInterval(-$0) }
    }
}
