import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl sessions ls|show|rm`: conversations the kernel keeps.
struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List, show and remove the conversations the kernel keeps.",
        discussion: """
            An inference request may name a session: the kernel builds the \
            prompt from its stored turns and stores the exchange, in \
            $AGENTOS_HOME/state.sqlite. Sessions belong to the agent whose \
            requests name them ("agentctl" for `agentctl infer --session`). When \
            a history outgrows the context, the oldest turns leave the prompt \
            (keep_recent) or are summarized (summarize); every such cut is \
            recorded and shown here.

            Examples:
              agentctl sessions ls
              agentctl sessions ls support
              agentctl sessions show support customer-42
              agentctl sessions rm support customer-42
            """,
        subcommands: [List.self, Show.self, Remove.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List sessions, of every agent or of one.")

        @Argument(help: "An agent; without it, every agent's sessions.")
        var agent: String?

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let sessions = try await ControlClient().sessions(agent: agent)
            switch output {
            case .json: try printJSON(SessionList(sessions: sessions))
            case .table:
                printTable([["AGENT", "SESSION", "POLICY", "TURNS", "CUT", "CUTS", "UPDATED"]] + sessions.map {
                    [$0.agent, $0.id, $0.policy, "\($0.turns)", "\($0.cutTurns)", "\($0.cuts)", $0.updatedAt]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session's turns, cuts and summary.")

        @Argument(help: "The agent whose session it is.")
        var agent: String

        @Argument(help: "The session id.")
        var id: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let detail = try await ControlClient().session(agent: agent, id: id)
            switch output {
            case .json: try printJSON(detail)
            case .table: print(Self.text(detail), terminator: "")
            }
        }

        /// One line per turn (cut ones marked), the cuts, the summary.
        static func text(_ detail: SessionDetail) -> String {
            let info = detail.session
            var text = "session \(info.id) of \(info.agent): \(info.turns) turns (\(info.cutTurns) cut from the prompt, \(info.prunedTurns) pruned), policy \(info.policy)\n"
            for turn in detail.turns {
                let mark = turn.inPrompt ? " " : "-"
                let body = turn.toolCalls.map { calls in calls.map { "\($0.name)(\($0.arguments))" }.joined(separator: ", ") } ?? turn.content
                text += "\(mark) \(turn.seq) \(turn.role): \(body.replacingOccurrences(of: "\n", with: " "))\n"
            }
            for cut in detail.cuts {
                text += "cut \(cut.fromSeq)-\(cut.throughSeq) (\(cut.turns) turns) \(cut.kind) at \(cut.at): \(cut.reason)\n"
            }
            if let summary = detail.summary { text += "summary: \(summary)\n" }
            return text
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a session with its turns and cuts.")

        @Argument(help: "The agent whose session it is.")
        var agent: String

        @Argument(help: "The session id.")
        var id: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let info = try await ControlClient().deleteSession(agent: agent, id: id)
            switch output {
            case .json: try printJSON(info)
            case .table: print("removed session \(info.id) of \(info.agent) (\(info.turns) turns)")
            }
        }
    }
}
