import ArgumentParser
import Foundation
import Yams

/// `agentosd.yaml`: agentosd's options in a file, one key per option's long name
/// (`engine: llama`, `cluster: nats://…`, `no-metrics: true`, `api-addr: …`).
///
/// The file becomes command-line arguments placed before the real ones, so
/// ArgumentParser checks every value as it checks the command line and the
/// command line wins: a single-valued option takes its last value, and a
/// repeating option named on the command line drops the file's values. The keys
/// come from the command's own argument definitions (ArgumentParser's help
/// dump), so an option added later needs no code here.
///
/// A flag takes `true` or `false` (`false` leaves it off, or gives `--no-NAME`
/// when the flag has that inversion); an option a scalar, or a list when it
/// repeats; an empty value (`key:` or `~`) is the same as leaving the key out.
struct ConfigFile {
    /// The file's path as read.
    let path: String
    /// The arguments the file stands for, in the file's order.
    let arguments: [String]

    /// Reads `path` against the options of `command`. `commandLine` is the real
    /// command line (without the program name); the repeating options it names
    /// are left to it. Throws `ConfigFileError` naming the file and line.
    static func read(
        path: String, for command: any ParsableArguments.Type, commandLine: [String]
    ) throws(ConfigFileError) -> ConfigFile {
        guard FileManager.default.fileExists(atPath: path) else { throw ConfigFileError("\(path): no such file") }
        // Read to the end, not by its size: `--config /dev/null` reads nothing.
        let handle = FileHandle(forReadingAtPath: path)
        defer { try? handle?.close() }
        guard let handle, let data = try? handle.readToEnd() ?? Data() else {
            throw ConfigFileError("\(path): cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigFileError("\(path): not UTF-8 text") }
        return ConfigFile(path: path, arguments: try arguments(from: text, file: path, options: OptionCatalog(command), commandLine: commandLine))
    }

    /// The arguments `text` stands for; `file` names it in errors.
    static func arguments(
        from text: String, file: String, options: OptionCatalog, commandLine: [String]
    ) throws(ConfigFileError) -> [String] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigFileError("\(file): not valid YAML: \(yamlProblem(error))")
        }
        guard let root else { return [] }
        guard let mapping = root.mapping else {
            throw ConfigFileError("\(file):\(line(root)): the file must be a mapping of option names to values, e.g. `engine: llama`")
        }
        var arguments: [String] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw ConfigFileError("\(file):\(line(keyNode)): a key must be an option's name")
            }
            let place = "\(file):\(line(keyNode))"
            guard let option = options.option(named: key) else {
                let hint = options.nearestName(to: key).map { " (did you mean `\($0)`?)" } ?? ""
                throw ConfigFileError("\(place): unknown option `\(key)`\(hint)")
            }
            if value.null != nil { continue }
            switch option.kind {
            case .flag:
                guard let scalar = value.scalar, let on = Bool.construct(from: scalar) else {
                    throw ConfigFileError("\(place): `\(key)` is a flag: give it true or false")
                }
                if on {
                    arguments.append("--" + key)
                } else if option.names.contains("no-" + key) {
                    arguments.append("--no-" + key)
                }
            case .option:
                if option.isRepeating, option.names.contains(where: { commandLine.names(option: $0) }) { continue }
                let values: [Node]
                switch value {
                case .scalar: values = [value]
                case .sequence(let sequence) where option.isRepeating: values = Array(sequence)
                case .sequence: throw ConfigFileError("\(place): `\(key)` takes one value, not a list")
                case .mapping: throw ConfigFileError("\(place): `\(key)` takes \(option.isRepeating ? "a value or a list of values" : "one value"), not a mapping")
                }
                for item in values {
                    guard let scalar = item.scalar else { throw ConfigFileError("\(file):\(line(item)): `\(key)` takes plain values") }
                    arguments.append("--\(key)=\(scalar.string)")
                }
            }
        }
        return arguments
    }

    private static func line(_ node: Node) -> String {
        node.mark.map { "\($0.line)" } ?? "?"
    }

    /// Yams's problem in one line: "line L, column C: what".
    private static func yamlProblem(_ error: any Error) -> String {
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _)?, .parser(_, let problem, let mark, _)?, .composer(_, let problem, let mark, _)?:
            return "line \(mark.line), column \(mark.column): \(problem)"
        default:
            return "\(error)"
        }
    }
}

/// A config file agentosd cannot use: the file, the line, and what is wrong.
struct ConfigFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension [String] {
    /// Whether this command line names the long option `name` (`--name V` or `--name=V`), before any `--`.
    func names(option name: String) -> Bool {
        prefix(while: { $0 != "--" }).contains { $0 == "--" + name || $0.hasPrefix("--\(name)=") }
    }

    /// The value of the long option `name` on this command line (`--name V` or `--name=V`), before any `--`.
    func value(ofOption name: String) -> String? {
        let arguments = Array(prefix(while: { $0 != "--" }))
        var found: String?
        for (index, argument) in arguments.enumerated() {
            if argument == "--" + name, index + 1 < arguments.count {
                found = arguments[index + 1]
            } else if argument.hasPrefix("--\(name)=") {
                found = String(argument.dropFirst(name.count + 3))
            }
        }
        return found
    }
}
