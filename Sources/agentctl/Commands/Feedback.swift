import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl feedback`: rate agents' answers; see and export the ratings.
struct Feedback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rate an agent's answer, or show and export the ratings.",
        discussion: """
            `agentctl send NAME TEXT --wait` prints the answer's request id on \
            stderr, as [request 42]. Rate it up or down, with an optional \
            comment, while the kernel that gave it runs (it remembers the last \
            10,000 answers); rating it again replaces the rating. The kernel \
            keeps the ratings, with the question and the answer, in \
            $AGENTOS_HOME/feedback.sqlite, and counts them in \
            agentos_feedback_total{agent,rating}.

            Examples:
              agentctl feedback 42 up
              agentctl feedback 42 down --comment "the A-200 costs 199, not 99"
              agentctl feedback stats --since 7d
              agentctl feedback export --agent support > support-feedback.jsonl
            """,
        subcommands: [Rate.self, Stats.self, Export.self],
        defaultSubcommand: Rate.self
    )
}

extension FeedbackRating: ExpressibleByArgument {}

extension Feedback {
    /// `agentctl feedback REQUEST_ID up|down [--comment TEXT]`.
    struct Rate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rate the answer to a request.",
            discussion: """
                An unknown request id (an answer from an earlier kernel, or \
                older than the last 10,000) is an error (exit 1).

                Example:
                  agentctl feedback 42 down --comment "wrong price"
                """
        )

        @Argument(help: ArgumentHelp("The request id `agentctl send --wait` printed.", valueName: "request-id"))
        var requestId: UInt64

        @Argument(help: ArgumentHelp("up or down.", valueName: "up|down"))
        var rating: FeedbackRating

        @Option(help: ArgumentHelp("Why: kept with the rating and exported with it.", valueName: "text"))
        var comment: String?

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format; json prints the recorded rating.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let entry = try await ControlClient().rate(FeedbackRequest(requestId: requestId, rating: rating, comment: comment))
            switch output {
            case .json: try printJSON(entry)
            case .table: print("rated request \(entry.requestId) from \(entry.agent): \(entry.rating.rawValue)")
            }
        }
    }

    /// `agentctl feedback stats [--agent N] [--since 7d] [-o json]`.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each agent's rated answers and satisfaction rate.",
            discussion: """
                SATISFACTION is the share of rated answers rated up. A request \
                rated twice counts once, with its latest rating.

                Examples:
                  agentctl feedback stats
                  agentctl feedback stats --agent support --since 7d -o json
                """
        )

        @Option(help: ArgumentHelp("Only this agent's ratings.", valueName: "name"))
        var agent: String?

        @Option(help: ArgumentHelp("Only ratings from the last DURATION: 30s, 5m, 2h, 7d.", valueName: "duration"))
        var since: String?

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func validate() throws {
            if let since, SinceTime.seconds(since) == nil { throw ValidationError("--since must be \(SinceTime.acceptedDuration)") }
        }

        func run() async throws {
            let seconds = since.flatMap(SinceTime.seconds).map { Int($0.rounded(.up)) }
            let stats = try await ControlClient().feedbackStats(agent: agent, since: seconds)
            switch output {
            case .json:
                try printJSON(stats)
            case .table where stats.agents.isEmpty:
                let window = since.map { " in the last \($0)" } ?? ""
                print("no ratings\(window) (rate an answer with `agentctl feedback REQUEST_ID up|down`)")
            case .table:
                printTable([["AGENT", "RATED", "UP", "DOWN", "SATISFACTION"]] + stats.agents.map { agent in
                    [
                        agent.agent, "\(agent.count)", "\(agent.up)", "\(agent.down)",
                        String(format: "%.0f%%", agent.satisfactionRate * 100),
                    ]
                })
            }
        }
    }

    /// `agentctl feedback export [--agent N]`: JSON Lines on stdout.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the rated answers as JSON Lines, a dataset for evals.",
            discussion: """
                One object per line, oldest rating first, with keys request_id, \
                agent, question, answer, rating (up or down), comment (null when \
                none) and created_at (ISO 8601, UTC).

                Example:
                  agentctl feedback export --agent support > support-feedback.jsonl
                """
        )

        @Option(help: ArgumentHelp("Only this agent's ratings.", valueName: "name"))
        var agent: String?

        func run() async throws {
            let encoder = ControlJSON.encoder()
            for try await entry in ControlClient().feedbackExport(agent: agent) {
                print(String(decoding: try encoder.encode(entry), as: UTF8.self))
            }
        }
    }
}
