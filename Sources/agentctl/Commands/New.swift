import ArgumentParser
import Foundation

/// `agentctl new NAME --lang c|swift|cpp [--kind agent|tool]`: a plugin project
/// that builds with `make` and tests itself in a real kernel with `make test`.
struct New: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a plugin project: source, Makefile, a test in a real kernel, an eval suite.",
        discussion: """
            Writes the folder NAME (or --dir) with a plugin that builds with one command, \
            `make` (a Swift project runs `swift build` against AgentOSKit), and `make test`, \
            which starts agentosd on a scratch home, loads the plugin and checks it (an agent \
            also runs its eval suite, evals/NAME.yaml). The header, AgentOSKit and the \
            binaries are found beside this agentctl: an installed tree (make install) or a checkout.
            """
    )

    @Argument(help: "The plugin's name: a letter, then letters, digits, '_' or '-' (at most 63).")
    var name: String

    @Option(help: ArgumentHelp("The plugin's language.", valueName: "c|swift|cpp"))
    var lang: ProjectTemplate.Language

    @Option(help: ArgumentHelp("An agent (handles messages) or a tool plugin (functions).", valueName: "agent|tool"))
    var kind: ProjectTemplate.Kind = .agent

    @Option(help: ArgumentHelp("The folder to create (default: ./NAME).", valueName: "dir"))
    var dir: String?

    func validate() throws {
        guard name.utf8.count <= 63, let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
        else { throw ValidationError("\"\(name)\" is not a plugin name: a letter, then letters, digits, '_' or '-' (at most 63)") }
    }

    func run() throws {
        let folder = dir ?? name
        do {
            let template = ProjectTemplate(name: name, language: lang, kind: kind, sdk: try SDKLocation.find())
            guard !FileManager.default.fileExists(atPath: folder) else {
                throw ScaffoldError("\(folder) already exists: choose another --dir, or remove it")
            }
            for (path, contents) in template.files {
                let url = URL(fileURLWithPath: folder).appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(contents.utf8).write(to: url)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/test.sh")
        } catch {
            printError("agentctl: cannot create \(folder): \(error)")
            throw ExitCode.failure
        }
        print("created \(folder): \(name), a \(lang.rawValue) \(kind.rawValue); cd \(folder) && make && make test")
    }
}

extension ProjectTemplate.Language: ExpressibleByArgument {}
extension ProjectTemplate.Kind: ExpressibleByArgument {}
