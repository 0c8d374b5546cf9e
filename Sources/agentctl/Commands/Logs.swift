import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl logs NAME`: print an instance's log.
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an instance's log.",
        discussion: """
            Each line shows time (UTC), level (debug, info, warn, error), source \
            ("plugin" for the plugin's own log calls, "kernel" for events such as \
            loaded, hung, unloaded) and text:

              2026-11-25T01:02:03Z info  plugin  started

            With --follow, keeps printing new lines until the instance is \
            unloaded (then exits 0) or Ctrl-C. With -o json, prints each entry \
            as one JSON object per line (JSON Lines).
            """
    )

    @Argument(help: "The instance's name.")
    var name: String

    @Flag(name: .shortAndLong, help: "Keep printing new lines as they are logged.")
    var follow = false

    @Option(help: ArgumentHelp("Print only the last N lines kept so far (default: all).", valueName: "n"))
    var tail: Int?

    @Option(help: ArgumentHelp("Only lines from the last DURATION: 30s, 5m, 2h, 1d.", valueName: "duration"))
    var since: String?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Output format; json prints JSON Lines.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail must be 0 or more.") }
        if let since, SinceTime.seconds(since) == nil { throw ValidationError("--since must be \(SinceTime.acceptedDuration)") }
    }

    func run() async throws {
        let encoder = ControlJSON.encoder()
        let seconds = since.flatMap(SinceTime.seconds).map { Int($0.rounded(.up)) }
        for try await entry in ControlClient().logs(name, tail: tail, since: seconds, follow: follow) {
            switch output {
            case .json: print(String(decoding: try encoder.encode(entry), as: UTF8.self))
            case .table: print(Self.line(entry))
            }
            if follow { fflush(nil) }
        }
    }

    /// `2026-11-25T01:02:03Z info  plugin  text`.
    private static func line(_ entry: LogEntry) -> String {
        let level = padded(entry.level, to: 5)
        let source = padded(entry.source, to: 6)
        return "\(entry.time.formatted(.iso8601)) \(level) \(source)  \(entry.text)"
    }
}
