import ArgumentParser
import Foundation

/// The long options and flags a command accepts, read from ArgumentParser's own
/// description of it (`_dumpHelp()`, the JSON behind `--experimental-dump-help`),
/// so the config file knows every option without a list kept by hand.
struct OptionCatalog {
    struct Entry {
        enum Kind { case option, flag }
        let kind: Kind
        /// Every long name of the argument (a flag's inversion `no-NAME` too).
        let names: [String]
        let isRepeating: Bool
    }

    /// Names the file may not set: they are about the command line itself.
    static let reserved: Set = ["config", "help", "version", "experimental-dump-help"]

    private var entries: [String: Entry] = [:]

    init(_ command: any ParsableArguments.Type) {
        guard let dump = try? JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8)) else { return }
        for argument in dump.command.arguments ?? [] {
            let kind: Entry.Kind
            switch argument.kind {
            case "option": kind = .option
            case "flag": kind = .flag
            default: continue
            }
            let names = (argument.names ?? []).filter { $0.kind == "long" }.map(\.name)
            let entry = Entry(kind: kind, names: names, isRepeating: argument.isRepeating)
            for name in names where !Self.reserved.contains(name) { entries[name] = entry }
        }
    }

    /// The option or flag with the long name `name`.
    func option(named name: String) -> Entry? { entries[name] }

    /// The valid name closest to `name`, when one is close enough to be a typo.
    func nearestName(to name: String) -> String? {
        let scored = entries.keys.map { ($0, editDistance(name, $0)) }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let (candidate, distance) = scored, distance <= max(2, name.count / 3) else { return nil }
        return candidate
    }

    /// Levenshtein distance.
    private func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return a.count + b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The part of ArgumentParser's `ToolInfoV0` read here.
    private struct Dump: Decodable {
        struct Command: Decodable { let arguments: [Argument]? }
        struct Argument: Decodable {
            struct Name: Decodable { let kind: String; let name: String }
            let kind: String
            let names: [Name]?
            let isRepeating: Bool
        }
        let command: Command
    }
}
