import Foundation

/// A duration the way `ps` shows it: 45s, 3m12s, 2h05m, 3d4h.
func humanDuration(_ seconds: Double) -> String {
    let total = Int(max(seconds, 0))
    switch total {
    case ..<60: return "\(total)s"
    case ..<3_600: return "\(total / 60)m\(twoDigits(total % 60))s"
    case ..<86_400: return "\(total / 3_600)h\(twoDigits(total / 60 % 60))m"
    default: return "\(total / 86_400)d\(total / 3_600 % 24)h"
    }
}

/// `value` with `places` (0 to 3) decimals, as `String(format: "%.<places>f")`
/// prints it (but for an exact tie in the last digit, and a `-0`), without
/// Foundation's formatter, which costs microseconds a call: `ps` formats a
/// figure or two for each of thousands of rows.
func decimal(_ value: Double, places: Int) -> String {
    let scale = [1, 10, 100, 1000][places]
    let scaled = (abs(value) * Double(scale)).rounded(.toNearestOrEven)
    guard scaled < 1e15 else { return String(format: "%.\(places)f", value) }
    let units = Int(scaled)
    let sign = value < 0 && units > 0 ? "-" : ""
    guard places > 0 else { return sign + "\(units)" }
    let fraction = String(units % scale)
    return sign + "\(units / scale)." + String(repeating: "0", count: places - fraction.count) + fraction
}

/// 0 to 99 as two digits: 07.
private func twoDigits(_ value: Int) -> String {
    value < 10 ? "0\(value)" : "\(value)"
}

/// A number of seconds as the user would type it: 30s, 2.5s.
func secondsText(_ seconds: Double) -> String {
    String(format: "%gs", seconds)
}

/// `path` relative to the current directory (`./build/echo.so`) when inside it, else unchanged.
func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    return path.hasPrefix(cwd + "/") ? "." + path.dropFirst(cwd.count) : path
}

/// `path` made absolute from the current directory, with `.` and `..` resolved.
func absolutePath(_ path: String) -> String {
    let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
    return URL(fileURLWithPath: path, relativeTo: cwd).standardizedFileURL.path
}

/// `text` followed by spaces up to `width` characters; longer text is kept whole.
func padded(_ text: String, to width: Int) -> String {
    text + String(repeating: " ", count: max(width - text.count, 0))
}
