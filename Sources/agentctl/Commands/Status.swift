import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl status`: the kernel at a glance.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the kernel's version, readiness, home, uptime, instances and message counts.",
        discussion: """
            Instances are counted per state; messages counts those the kernel \
            queued since it started and those it refused (full mailbox, unknown \
            receiver, too big, ...); restored lists the instances loaded again \
            from state.sqlite at start, and each recorded one that was not, with why; \
            crashes lists the crash records the start found (see `agentctl crashes`).
            """
    )

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Output format; json prints the KernelStatus.", valueName: "format"))
    var output: OutputFormat = .table

    /// The order states are listed in; unknown ones follow alphabetically.
    private static let stateOrder = ["loading", "running", "stopping", "stopped", "failed", "hung"]

    func run() async throws {
        let status = try await ControlClient().status()
        switch output {
        case .json:
            try printJSON(status)
        case .table:
            var rows: [[String]] = [
                ["version", "agentosd \(status.version) (ABI \(status.abiMajor).\(status.abiMinor))"],
                ["ready", status.notReady.isEmpty ? "yes" : "no: " + status.notReady.joined(separator: "; ")],
                ["pid", "\(status.pid)"],
                ["home", displayPath(status.home)],
                ["plugins dir", status.pluginsDir.map(displayPath) ?? "- (not watching)"],
                ["uptime", humanDuration(status.uptimeSeconds)],
                ["instances", Self.counts(status.instances)],
                ["messages", "\(status.messagesDelivered) delivered, \(status.messagesRefused) refused"],
            ]
            if let restore = status.restore { rows.append(["restored", Self.restored(restore)]) }
            if let crashes = status.crashes { rows.append(["crashes", Self.crashes(crashes)]) }
            printTable(rows)
        }
    }

    /// "3 instances; not restored: a (reason); b (reason)", or why nothing was.
    private static func restored(_ restore: RestoreInfo) -> String {
        switch restore.state {
        case "skipped": return "none (--no-restore)"
        case "unavailable": return "none: " + (restore.reason ?? "no state database")
        case "restoring": return "in progress"
        default:
            let count = restore.restored.count == 1 ? "1 instance" : "\(restore.restored.count) instances"
            guard !restore.notRestored.isEmpty else { return count }
            return count + "; not restored: " + restore.notRestored.map { "\($0.name) (\($0.reason))" }.joined(separator: "; ")
        }
    }

    /// "none", or "crasher: crashed: SIGSEGV in … at …; …", and the unreadable files.
    private static func crashes(_ list: CrashList) -> String {
        let records = list.crashes.map { crash in
            "\(crash.name): \(crash.reason)" + (crash.blocksPlugin ? " (not loaded by itself until its file changes or `agentctl load`)" : "")
        }
        let unreadable = list.unreadable.map { "unreadable \($0.file): \($0.problem)" }
        let all = records + unreadable
        return all.isEmpty ? "none" : all.joined(separator: "; ")
    }

    /// "2 running, 1 failed", or "none".
    private static func counts(_ perState: [String: Int]) -> String {
        func rank(_ state: String) -> (Int, String) { (stateOrder.firstIndex(of: state) ?? stateOrder.count, state) }
        let parts = perState.sorted { rank($0.key) < rank($1.key) }.map { "\($0.value) \($0.key)" }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
