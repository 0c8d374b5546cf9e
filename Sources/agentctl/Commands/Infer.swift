import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl infer PROMPT`: run a chat completion through the kernel's scheduler.
struct Infer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an inference request through the kernel and stream the answer.",
        discussion: """
            The request is queued, scheduled and accounted like an agent's \
            (to --agent, default "agentctl"). The text streams to stdout as it \
            is generated; Ctrl-C cancels the request and frees its place in the \
            engine. Usage (tokens, queue time, time to first token) goes to \
            stderr, or everything as one JSON object with -o json.

            Examples:
              agentctl infer "Write a haiku about kernels."
              agentctl infer --system "Answer in French." --max-tokens 64 "What is a mailbox?"
              agentctl infer --json-schema '{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}' "Is water wet?"
              agentctl infer --tools 'calculator.*' "What is 12.5 times 4?"
              agentctl infer --session demo "My name is Ada."; agentctl infer --session demo "What is my name?"

            With --tools the kernel runs the tool loop: it offers the tools to \
            the model, runs the calls the model makes and feeds the results \
            back until the model answers; each call is shown on stderr as it ends.
            """
    )

    @Argument(help: "The user's message.")
    var prompt: String

    @Option(help: "Account the request to this agent name (default: agentctl).")
    var agent: String?

    @Option(help: "A system message to put first.")
    var system: String?

    @Option(help: "Tokens to generate at most.")
    var maxTokens = InferRequest.defaultMaxTokens

    @Option(help: "Sampling temperature; 0 is greedy and deterministic.")
    var temperature: Float = 0

    @Option(help: "Nucleus sampling threshold in (0, 1].")
    var topP: Float = 1

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    @Option(help: "A string that ends the generation (repeatable).")
    var stop: [String] = []

    @Option(help: ArgumentHelp("A GBNF grammar file the output must match.", valueName: "file"))
    var grammarFile: String?

    @Option(help: ArgumentHelp("A JSON Schema (text) of an object the output must match.", valueName: "schema"))
    var jsonSchema: String?

    @Option(help: "Priority under the kernel's priority policy (higher first).")
    var priority = 0

    @Option(help: ArgumentHelp("A tool name or glob the model may call (repeatable), e.g. 'catalog.*'.", valueName: "pattern"))
    var tools: [String] = []

    @Flag(help: "The model's first turn must call a tool.")
    var requireTool = false

    @Option(help: "Model turns at most in the tool loop (1-32).")
    var maxSteps: Int?

    @Option(help: ArgumentHelp("Continue the conversation ID (of --agent): the kernel adds its stored turns to the prompt and stores this exchange.", valueName: "id"))
    var session: String?

    @Option(help: ArgumentHelp("With --session, when the history outgrows the context: keep_recent or summarize.", valueName: "policy"))
    var sessionPolicy: String?

    @Option(help: ArgumentHelp("With --session, while the session answers another request: enqueue (wait), reject or interrupt.", valueName: "policy"))
    var whenBusy: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format; json waits and prints the whole result.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        if grammarFile != nil && jsonSchema != nil { throw ValidationError("give --grammar-file or --json-schema, not both") }
        if tools.isEmpty && (requireTool || maxSteps != nil) { throw ValidationError("--require-tool and --max-steps need --tools") }
        if session == nil && sessionPolicy != nil { throw ValidationError("--session-policy needs --session") }
        if session == nil && whenBusy != nil { throw ValidationError("--when-busy needs --session") }
    }

    func run() async throws {
        var request = InferRequest(prompt: prompt)
        request.agent = agent
        request.system = system
        request.maxTokens = maxTokens
        request.temperature = temperature
        request.topP = topP
        request.seed = seed
        request.stop = stop.isEmpty ? nil : stop
        request.priority = priority
        request.jsonSchema = jsonSchema
        request.session = session
        request.sessionPolicy = sessionPolicy
        request.sessionBusy = whenBusy
        if !tools.isEmpty {
            request.tools = tools
            request.toolChoice = requireTool ? "required" : nil
            request.maxSteps = maxSteps
        }
        if let grammarFile {
            guard let grammar = try? String(contentsOfFile: grammarFile, encoding: .utf8) else {
                throw ValidationError("cannot read grammar file \(grammarFile)")
            }
            request.grammar = grammar
        }
        let client = ControlClient()
        if output == .json {
            try printJSON(try await client.infer(request))
            return
        }
        // Ctrl-C ends the process, which closes the connection: the kernel takes that as a cancel.
        let stream = client.inferStream(request)
        let stdout = FileHandle.standardOutput
        for try await event in stream {
            if let piece = event.piece { stdout.write(Data(piece.utf8)) }
            if let step = event.step {
                let outcome = step.result.map { "= \($0)" } ?? "failed: \(step.error?.message ?? "?")"
                let line = String(format: "[tool %@ %@ %@ (%.2f ms)]\n", step.tool, step.arguments, outcome, step.durationMs)
                FileHandle.standardError.write(Data(line.utf8))
            }
            if let result = event.result {
                if !result.text.hasSuffix("\n") { stdout.write(Data("\n".utf8)) }
                let usage = result.usage
                let summary = String(
                    format: "[request %llu: %@, %d prompt (%d cached) + %d generated tokens, queued %.0f ms, first token %.0f ms, total %.0f ms]\n",
                    result.requestId, result.finishReason, usage.promptTokens, usage.promptTokensDetails.cachedTokens,
                    usage.completionTokens,
                    usage.queueMs, usage.timeToFirstTokenMs, usage.totalMs)
                FileHandle.standardError.write(Data(summary.utf8))
            }
            if let error = event.error {
                throw ControlClientError.api(status: 200, code: error.code, message: error.message)
            }
        }
    }
}
