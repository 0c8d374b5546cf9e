import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl trace ID`: one inference request's timeline.
struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an inference request's timeline: queued, scheduled, first token, tool calls, finished.",
        discussion: """
            ID is the request id `agentctl infer` prints, and agents' logs and \
            results carry. A tool loop shows each model turn and each tool call \
            with its duration. The kernel keeps the last 1024 requests' timelines.

            Example:
              agentctl trace 42
            """
    )

    @Argument(help: "The request id.")
    var id: UInt64

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        let trace = try await ControlClient().trace(id)
        switch output {
        case .json:
            try printJSON(trace)
        case .table:
            print("request \(trace.requestId) of \(trace.agent)")
            printTable([["AT", "EVENT", "TOOK", "DETAIL"]] + trace.events.map { event in
                [
                    String(format: "+%.1fms", event.atMs), event.event,
                    event.durationMs.map { String(format: "%.2fms", $0) } ?? "-", event.detail,
                ]
            })
        }
    }
}
