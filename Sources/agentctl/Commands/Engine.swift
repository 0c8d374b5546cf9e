import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl engine`: the inference engine, its load and its throughput.
struct Engine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the inference engine: model, slots, queue, KV cache and throughput.",
        discussion: """
            ACTIVE is the number of sequences in the engine now and QUEUED the \
            requests waiting for a slot; KV is the cache cells running sequences \
            use, of all, and in brackets the cells kept for reuse; PROMPT the prompt tokens \
            computed since start and CACHED those reused from the prefix cache \
            instead (with the share of all prompt tokens); MEAN BATCH the tokens \
            per engine step; GEN T/S the tokens generated per second of engine work.
            HOST CACHE is the KV state kept in host memory (prefixes the slots no \
            longer hold, and paused sequences), of the budget, with the prefixes \
            kept; PAUSED the sequences paused now, and preempted since start. The \
            engine's settings follow the table.
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        let engine = try await ControlClient().engine()
        switch output {
        case .json:
            try printJSON(engine)
        case .table:
            printTable([
                [
                    "ENGINE", "MODEL", "POLICY", "SLOTS", "ACTIVE", "QUEUED", "KV", "PROMPT", "CACHED", "HOST CACHE", "PAUSED",
                    "GENERATED", "MEAN BATCH", "GEN T/S",
                ],
                [
                    engine.kind, displayPath(engine.model), engine.policy, "\(engine.slots)", "\(engine.activeSequences)",
                    "\(engine.queueLength)", "\(engine.kvCellsUsed)/\(engine.kvCellsTotal) (\(engine.kvCellsCached))", "\(engine.promptTokens)",
                    Self.cached(engine), Self.hostCache(engine), "\(engine.pausedSequences) (\(engine.preemptions))",
                    "\(engine.generatedTokens)", String(format: "%.1f", engine.meanBatchTokens),
                    String(format: "%.1f", engine.generatedTokensPerSecond),
                ],
            ])
            if !engine.settings.isEmpty {
                print(engine.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
        }
    }

    /// Host memory held of the budget, and the prefixes kept: "28.1/377.5 MiB (3)".
    private static func hostCache(_ engine: EngineStatus) -> String {
        func mebibytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
        return "\(mebibytes(engine.hostCacheBytes))/\(mebibytes(engine.hostCacheBudget)) MiB (\(engine.hostCacheEntries))"
    }

    /// Cached prompt tokens and their share of all prompt tokens: "1200 (60%)".
    private static func cached(_ engine: EngineStatus) -> String {
        let all = engine.promptTokens + engine.cachedPromptTokens
        guard all > 0 else { return "0" }
        return "\(engine.cachedPromptTokens) (\(engine.cachedPromptTokens * 100 / all)%)"
    }
}
