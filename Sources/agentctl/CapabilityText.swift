import Foundation

/// The capabilities in `text`, split at the commas outside `[...]`:
/// `infer,tool:catalog.*` is two, `send:worker-[1,2]` one. Empty pieces are
/// kept, for the kernel to refuse by name.
func splitCapabilities(_ text: String) -> [String] {
    var pieces = [""]
    var inBrackets = false
    for character in text {
        switch character {
        case "," where !inBrackets: pieces.append("")
        case "[": inBrackets = true
        case "]": inBrackets = false
        default: break
        }
        if character != "," || inBrackets { pieces[pieces.count - 1].append(character) }
    }
    return pieces
}

/// "grant with `agentctl grant NAME infer 'tool:catalog.*'`", globs quoted for the shell.
func grantHint(_ name: String, _ capabilities: [String]) -> String {
    "grant with `agentctl grant \(shellWord(name)) \(capabilities.map(shellWord).joined(separator: " "))`"
}

/// `word` as a shell reads it back: unchanged when plain, else in single quotes.
private func shellWord(_ word: String) -> String {
    let plain = !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":._-".contains($0)) }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
