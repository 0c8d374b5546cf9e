import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl top`: live engine load and per-instance rates, refreshed like `top`.
struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show live token and message rates per instance, refreshed like top.",
        discussion: """
            Samples the kernel every --interval seconds and shows the rates \
            between the last two samples. The first line is the engine: tokens \
            generated per second, mean tokens per engine step (BATCH), active \
            sequences/slots, queued requests, KV cells used/total.

            Columns: NAME, STATE, TOK/S IN and TOK/S OUT (prompt and generated \
            tokens per second; a request's tokens count when it ends), INFER \
            (requests in flight), QWAIT(mean) (mean queue wait of its ended \
            requests since the kernel started), MAILBOX (queued/limit), MSG/S \
            (messages received per second), LAST ERROR. Rows are sorted by \
            TOK/S OUT; "-" means no rate yet (the instance appeared since the \
            last sample).

            With --once, takes two samples --interval apart, prints once and \
            exits; -o json then prints {"engine": {...}, "instances": [...], \
            "interval_seconds": S} with the same rates. Ctrl-C quits.
            """
    )

    @Option(help: ArgumentHelp("Seconds between samples.", valueName: "seconds"))
    var interval: Double = 2

    @Flag(help: "Take two samples --interval apart, print once and exit.")
    var once = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format; json needs --once.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        guard interval > 0, interval.isFinite else { throw ValidationError("--interval must be more than 0") }
        if output == .json && !once { throw ValidationError("-o json needs --once") }
    }

    func run() async throws {
        let client = ControlClient()
        var previous = try await Sample.take(client)
        while true {
            try await Task.sleep(for: .seconds(interval))
            let current = try await Sample.take(client)
            let report = TopReport(from: previous, to: current)
            if output == .json {
                try printJSON(report)
            } else {
                if !once { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                report.printText()
                fflush(nil)
            }
            if once { return }
            previous = current
        }
    }
}

/// The kernel's counters at one moment.
private struct Sample {
    var time: ContinuousClock.Instant
    var engine: EngineStatus
    var instances: [InstanceRow]

    static func take(_ client: ControlClient) async throws -> Sample {
        let engine = try await client.engine()
        let instances = try await client.instances(all: false)
        return Sample(time: .now, engine: engine, instances: instances)
    }
}

/// What `top` shows: the rates between two samples, and the latest gauges.
struct TopReport: Encodable {
    struct EngineRow: Encodable {
        var kind: String
        var model: String
        var slots: Int
        var activeSequences: Int
        var queueLength: Int
        var kvCellsUsed: Int
        var kvCellsTotal: Int
        var generatedTokensPerSecond: Double
        /// Tokens per engine step in the interval; nil when the engine took no step.
        var meanBatchTokens: Double?
    }

    struct InstanceRow: Encodable {
        var name: String
        var id: UInt64
        var state: String
        /// Rates are nil for an instance that was not in the earlier sample.
        var promptTokensPerSecond: Double?
        var completionTokensPerSecond: Double?
        var messagesInPerSecond: Double?
        var inferenceInFlight: Int
        /// Mean queue wait of its completed and cancelled requests since the kernel started; nil before any.
        var meanQueueMs: Double?
        var mailboxDepth: Int
        var mailboxLimit: Int
        var lastError: String?
    }

    var intervalSeconds: Double
    var engine: EngineRow
    var instances: [InstanceRow]

    fileprivate init(from before: Sample, to after: Sample) {
        let seconds = before.time.duration(to: after.time) / .seconds(1)
        func rate(_ now: UInt64, _ then: UInt64) -> Double {
            now >= then ? Double(now - then) / seconds : 0
        }
        intervalSeconds = seconds
        let (old, new) = (before.engine, after.engine)
        // The kernel reports the mean since start; steps × mean gives the running total back.
        let batchTokens = { (engine: EngineStatus) in (engine.meanBatchTokens * Double(engine.steps)).rounded() }
        engine = EngineRow(
            kind: new.kind, model: new.model, slots: new.slots, activeSequences: new.activeSequences,
            queueLength: new.queueLength, kvCellsUsed: new.kvCellsUsed, kvCellsTotal: new.kvCellsTotal,
            generatedTokensPerSecond: rate(new.generatedTokens, old.generatedTokens),
            meanBatchTokens: new.steps > old.steps ? (batchTokens(new) - batchTokens(old)) / Double(new.steps - old.steps) : nil)
        let earlier = Dictionary(before.instances.map { ($0.id, $0) }) { $1 }
        instances = after.instances.map { instance in
            let use = instance.inference
            var row = InstanceRow(
                name: instance.name, id: instance.id, state: instance.state, inferenceInFlight: use?.inFlight ?? 0,
                meanQueueMs: use.flatMap { $0.completed + $0.cancelled > 0 ? $0.meanQueueMs : nil },
                mailboxDepth: instance.mailboxDepth, mailboxLimit: instance.mailboxLimit, lastError: instance.lastError)
            if let then = earlier[instance.id] {
                row.promptTokensPerSecond = rate(use?.promptTokens ?? 0, then.inference?.promptTokens ?? 0)
                row.completionTokensPerSecond = rate(use?.completionTokens ?? 0, then.inference?.completionTokens ?? 0)
                row.messagesInPerSecond = rate(instance.messagesIn, then.messagesIn)
            }
            return row
        }.sorted {
            let (left, right) = ($0.completionTokensPerSecond ?? -1, $1.completionTokensPerSecond ?? -1)
            return left != right ? left > right : $0.name < $1.name
        }
    }

    /// The engine line, a blank line, then one row per instance.
    func printText() {
        let batch = engine.meanBatchTokens.map { String(format: "%.1f", $0) } ?? "-"
        print(
            "ENGINE \(engine.kind)   MODEL \(engine.model.isEmpty ? "-" : displayPath(engine.model))   "
                + String(format: "GEN %.1f tok/s   ", engine.generatedTokensPerSecond)
                + "BATCH \(batch)   ACTIVE \(engine.activeSequences)/\(engine.slots)   QUEUE \(engine.queueLength)   "
                + "KV \(engine.kvCellsUsed)/\(engine.kvCellsTotal)\n")
        let header = ["NAME", "STATE", "TOK/S IN", "TOK/S OUT", "INFER", "QWAIT(mean)", "MAILBOX", "MSG/S", "LAST ERROR"]
        let rows = instances.map { row in
            [
                row.name, row.state, Self.rate(row.promptTokensPerSecond), Self.rate(row.completionTokensPerSecond),
                "\(row.inferenceInFlight)", row.meanQueueMs.map { String(format: "%.0fms", $0) } ?? "-",
                "\(row.mailboxDepth)/\(row.mailboxLimit)", Self.rate(row.messagesInPerSecond),
                row.lastError.map { $0.count > 40 ? String($0.prefix(39)) + "…" : $0 } ?? "-",
            ]
        }
        printTable([header] + rows)
    }

    private static func rate(_ value: Double?) -> String {
        value.map { String(format: "%.1f", $0) } ?? "-"
    }
}
