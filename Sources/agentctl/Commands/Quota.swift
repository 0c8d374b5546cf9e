import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl quota NAME [KEY=VALUE...]`: show or set an instance's quotas.
struct Quota: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or set a running instance's quotas.",
        discussion: """
            Without settings, shows each quota: KEY, LIMIT (unlimited when \
            none), USE (for a per-minute rate that is set, what was spent \
            in the last minute; tokens used of the budget; requests in \
            flight; messages queued; - where it has no meaning) and \
            REFUSALS, then \
            the inference requests throttled now and the instance's CPU time.

            With KEY=VALUE settings, sets them and shows the result. A value \
            is a positive integer, optionally with k (×1000) or M (×1000000), \
            or `unlimited`. Every setting is checked first: one bad key or \
            value changes nothing (exit 1). Rates throttle; the other limits \
            refuse with AOS_EQUOTA. Settings last until the instance is \
            unloaded (to set them at every load, use $AGENTOS_HOME/policy.yaml).

            Keys: tokens_per_minute, token_budget, concurrent_inference, \
            tool_calls_per_minute, mailbox_depth, message_bytes, \
            handler_deadline_ms, quota_wait_ms, kv_keys, kv_bytes, and for \
            process-mode instances memory_bytes and cpu_seconds (the host's \
            RLIMIT_AS and RLIMIT_CPU, from its next start). In process mode \
            handler_deadline_ms also ends a host whose plugin code runs that \
            long without a syscall (a crash; its restart policy applies).

            Examples:
              agentctl quota support
              agentctl quota support tokens_per_minute=20k concurrent_inference=2
              agentctl quota support token_budget=unlimited -o json
            """
    )

    @Argument(help: "The instance's name.")
    var name: String

    @Argument(help: ArgumentHelp("Quotas to set.", valueName: "key=value"))
    var settings: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        _ = try parsedSettings()
    }

    func run() async throws {
        let settings = try parsedSettings()
        let client = ControlClient()
        let info = settings.isEmpty ? try await client.quotas(of: name) : try await client.setQuotas(of: name, settings)
        switch output {
        case .json:
            try printJSON(info)
        case .table:
            printTable([["KEY", "LIMIT", "USE", "REFUSALS"]] + info.quotas.map { quota in
                [quota.key, quota.limit.map(String.init) ?? "unlimited", quota.use.map(String.init) ?? "-", "\(quota.refusals)"]
            })
            print("")
            printTable([
                ["throttled requests", "\(info.throttledRequests)"],
                ["cpu", String(format: "%.2fs", info.cpuSeconds)],
            ])
        }
    }

    /// The KEY=VALUE arguments by key; a usage error names the first that is not one, or a key given twice.
    private func parsedSettings() throws -> [String: String] {
        var parsed: [String: String] = [:]
        for setting in settings {
            guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                throw ValidationError("\"\(setting)\" is not KEY=VALUE (e.g. tokens_per_minute=20k)")
            }
            let key = String(setting[..<equals])
            guard parsed.updateValue(String(setting[setting.index(after: equals)...]), forKey: key) == nil else {
                throw ValidationError("\(key) is set twice")
            }
        }
        return parsed
    }
}
