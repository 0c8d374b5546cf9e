import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl runs ls|show|cancel|approve|reject`: tool-loop runs, checkpointed step by step.
struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List, show, cancel, approve and reject tool-loop runs.",
        discussion: """
            Every tool loop (`agentctl infer --tools`, an agent's infer with \
            tools) is a run: its request, each model turn that calls tools \
            and each call's outcome are checkpointed in \
            $AGENTOS_HOME/state.sqlite before the next step begins. A run \
            the kernel's stop interrupted (kill -9 included) resumes at the \
            next start from its last step; a call whose outcome was not \
            stored is not run again. A call of a tool that needs approval \
            (AOS_TOOL_NEEDS_APPROVAL) pauses its run (awaiting_approval) \
            until `runs approve` runs it or `runs reject` gives the model the \
            rejection as its result. A run ends completed, failed, \
            cancelled, interrupted (in a session: not resumed) or agent_gone \
            (its agent was unloaded, or not running at the next start).

            Examples:
              agentctl runs ls
              agentctl runs ls support
              agentctl runs show 42
              agentctl runs approve 42 --comment "checked with the customer"
              agentctl runs reject 42 --comment "refunds over $100 need a manager"
              agentctl runs cancel 42
            """,
        subcommands: [List.self, Show.self, Cancel.self, Approve.self, Reject.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List runs, newest first, of every agent or of one.")

        @Argument(help: "An agent; without it, every agent's runs.")
        var agent: String?

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let runs = try await ControlClient().runs(agent: agent)
            switch output {
            case .json: try printJSON(RunList(runs: runs))
            case .table:
                printTable([["RUN", "AGENT", "STATE", "STEPS", "UPDATED", "ERROR"]] + runs.map {
                    ["\($0.id)", $0.agent, $0.state, "\($0.steps)", $0.updatedAt, $0.error?.message ?? ""]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run's request, steps and outcome.")

        @Argument(help: "The run id (its request id).")
        var id: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let detail = try await ControlClient().run(id: id)
            switch output {
            case .json: try printJSON(detail)
            case .table: print(Self.text(detail), terminator: "")
            }
        }

        /// A header line, one line per step, then the answer or the error.
        static func text(_ detail: RunDetail) -> String {
            let run = detail.run
            var text = "run \(run.id) of \(run.agent): \(run.state), \(run.steps) steps, tools \(detail.tools.joined(separator: ", "))\n"
            for step in detail.steps {
                if let calls = step.calls {
                    let tokens = step.promptTokens.map { " (\($0) prompt + \(step.completionTokens ?? 0) completion tokens)" } ?? ""
                    text += "\(step.seq) model: calls \(calls.map { "\($0.name)(\($0.arguments))" }.joined(separator: ", "))\(tokens)\n"
                } else if let call = step.call {
                    let outcome = step.result ?? step.error.map { "error: \($0.message)" } ?? ""
                    text += "\(step.seq) tool: \(call.name)(\(call.arguments)) → \(outcome.replacingOccurrences(of: "\n", with: " "))\n"
                }
            }
            if let call = detail.awaiting {
                text += "awaiting approval: \(call.name)(\(call.arguments)) (agentctl runs approve|reject \(run.id))\n"
            }
            if let answer = detail.answer { text += "answer: \(answer)\n" }
            if let error = run.error { text += "error: \(error.message) (\(error.code))\n" }
            return text
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a running run.")

        @Argument(help: "The run id.")
        var id: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let info = try await ControlClient().cancelRun(id: id)
            switch output {
            case .json: try printJSON(info)
            case .table: print("cancelled run \(info.id) of \(info.agent)")
            }
        }
    }
}

/// `runs approve` and `runs reject`: the operator's decision on the call a run waits for.
struct Decision: ParsableArguments {
    @Argument(help: "The run id.")
    var id: String

    @Option(help: "Why: the model reads it with a rejection; an approval's is logged.")
    var comment: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func decide(approve: Bool) async throws {
        let info = try await ControlClient().decideRun(id: id, approve: approve, comment: comment)
        switch output {
        case .json: try printJSON(info)
        case .table: print("\(approve ? "approved" : "rejected") the call run \(info.id) of \(info.agent) waited for")
        }
    }
}

extension Runs {
    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the call a run waits for, and let the run go on.")

        @OptionGroup var decision: Decision

        func run() async throws { try await decision.decide(approve: true) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse the call a run waits for: the model reads the rejection as its result.")

        @OptionGroup var decision: Decision

        func run() async throws { try await decision.decide(approve: false) }
    }
}
