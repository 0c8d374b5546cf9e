import Foundation

/// A duration the way `ps` shows it: 45s, 3m12s, 2h05m, 3d4h.
func humanDuration(_ seconds: Double) -> String {
    let total = Int(max(seconds, 0))
    switch total {
    case ..<60: return "\(total)s"
    case ..<3_600: return String(format: "%dm%02ds", total / 60, total % 60)
    case ..<86_400: return String(format: "%dh%02dm", total / 3_600, total / 60 % 60)
    default: return "\(total / 86_400)d\(total / 3_600 % 24)h"
    }
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
