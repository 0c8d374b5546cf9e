import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl crashes ls|clear`: thread-mode crashes the kernel did not survive.
struct Crashes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crashes",
        abstract: "List and clear the records of crashes that ended the kernel.",
        discussion: """
            A thread-mode plugin that crashes (a NULL dereference, abort(), a \
            stack overflow) ends the kernel: its fatal-signal handler writes a \
            record to $AGENTOS_HOME/crash/ naming the instance, the signal and \
            the function, and the service manager starts the kernel again. That \
            start reports each record (its log, `agentctl status`, `ps -a`) and \
            does not load the plugin's file by itself again (restore, Plugins/) \
            while its content is the one that crashed. It loads again when the \
            file changes, when you load it with `agentctl load` (which clears its \
            records), or after `agentctl crashes clear NAME` and a restart. Run \
            such a plugin with --isolation process to let it crash alone.

            Examples:
              agentctl crashes
              agentctl crashes clear crasher
              agentctl crashes clear --all
            """,
        subcommands: [List.self, Clear.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the crash records the kernel's start found.")

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let list = try await ControlClient().crashes()
            switch output {
            case .json: try printJSON(list)
            case .table:
                printTable([["NAME", "SIGNAL", "WHERE", "TIME", "BLOCKS", "RECORD"]] + list.crashes.map {
                    [$0.name, $0.signal, $0.location + ($0.tool.map { " (tool \($0))" } ?? ""), Self.time($0.time),
                     $0.blocksPlugin ? $0.plugin.map(displayPath) ?? "yes" : "-", $0.file]
                })
                for file in list.unreadable {
                    print("unreadable: \(file.file): \(file.problem)")
                }
            }
        }

        static func time(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: date)
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove crash records, so their plugins load by themselves again (at the next start, or the next change in Plugins/).")

        @Argument(help: "The names the records are listed as (`agentctl crashes`).")
        var names: [String] = []

        @Flag(name: .long, help: "Remove every record, and the files that are not records.")
        var all = false

        func validate() throws {
            guard all != !names.isEmpty else { throw ValidationError("name the records to clear, or use --all") }
        }

        func run() async throws {
            let client = ControlClient()
            var files: [String] = []
            if all {
                files = try await client.clearCrashes(name: nil).files
            } else {
                for name in names { files += try await client.clearCrashes(name: name).files }
            }
            print(files.isEmpty ? "no crash records" : "cleared \(files.count == 1 ? "1 crash record" : "\(files.count) crash records")")
        }
    }
}
