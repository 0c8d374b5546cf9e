import ControlAPI
import Foundation
import Testing

/// `deploy/grafana/agentos.json` against the kernel's metric names: the
/// dashboard queries only names the kernel exports, and a real kernel's scrape
/// has them.
@Suite(.serialized) struct DashboardTests {
    /// The kernel's metrics, histograms by their base name (without `_bucket`, `_sum`, `_count`).
    static let exported: Set<String> = [
        // Counters
        "agentos_messages_sent_total", "agentos_messages_delivered_total", "agentos_messages_refused_total",
        "agentos_syscalls_total", "agentos_inference_requests_total", "agentos_inference_tokens_total",
        "agentos_tool_calls_total", "agentos_capability_denials_total", "agentos_quota_refusals_total",
        "agentos_engine_prompt_tokens_total", "agentos_engine_kv_host_cache_evictions_total", "agentos_engine_preemptions_total",
        // Histograms
        "agentos_handler_duration_seconds", "agentos_inference_queue_wait_seconds",
        "agentos_inference_time_to_first_token_seconds", "agentos_inference_time_per_output_token_seconds",
        "agentos_inference_request_duration_seconds", "agentos_engine_batch_size", "agentos_tool_duration_seconds",
        // Gauges
        "agentos_instances", "agentos_mailbox_depth", "agentos_engine_active_sequences", "agentos_engine_queue_length",
        "agentos_engine_kv_cache_usage_ratio", "agentos_engine_kv_host_cache_bytes", "agentos_uptime_seconds", "process_resident_memory_bytes",
        "process_open_fds", "process_cpu_seconds_total", "process_threads",
    ]

    /// Metrics that appear only with tool calls, an engine, a denial or a quota refusal.
    static func needsMoreThanAnAgent(_ name: String) -> Bool {
        name == "agentos_capability_denials_total" || name == "agentos_quota_refusals_total"
            || ["agentos_tool_", "agentos_inference_", "agentos_engine_"].contains { name.hasPrefix($0) }
    }

    /// Every `targets[].expr` of the dashboard's panels, rows' nested panels included.
    static func expressions(in panels: [[String: Any]]) -> [String] {
        panels.flatMap { panel in
            let targets = (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
            return targets + expressions(in: panel["panels"] as? [[String: Any]] ?? [])
        }
    }

    /// The metric names in a PromQL expression, histogram series by their base name.
    static func metricNames(in expression: String) -> Set<String> {
        Set(expression.matches(of: /\b(?:agentos|process)_[a-z_]+/).map { match in
            var name = String(match.0)
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            return name
        })
    }

    static func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: Paths.root.appendingPathComponent("deploy/grafana/agentos.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return expressions(in: try #require(dashboard["panels"] as? [[String: Any]]))
    }

    @Test func dashboardQueriesOnlyExportedMetrics() throws {
        let expressions = try Self.dashboardExpressions()
        #expect(expressions.count >= 20)
        for expression in expressions {
            let names = Self.metricNames(in: expression)
            #expect(!names.isEmpty, "no metric in \(expression)")
            for name in names.subtracting(Self.exported) {
                Issue.record("\(name) is not a metric the kernel exports (in \(expression))")
            }
        }
    }

    @Test func everyExportedMetricHasAPanel() throws {
        let used = try Self.dashboardExpressions().reduce(into: Set<String>()) { $0.formUnion(Self.metricNames(in: $1)) }
        #expect(Self.exported.subtracting(used).isEmpty, "no panel for \(Self.exported.subtracting(used).sorted())")
    }

    @Test func kernelScrapeDeclaresEveryAgentMetric() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        #expect(try await kernel.ask("echo", "hi") == "hi")
        // A refused message, so agentos_messages_refused_total has a series.
        await expectAPIError("not_found") { try await kernel.client.send("nobody", SendRequest(text: "hi")) }
        let (status, body) = try await kernel.client.raw(.GET, "/metrics")
        #expect(status == 200)
        let declared = Set(String(decoding: body, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("# TYPE ") ? line.split(separator: " ").dropFirst(2).first.map(String.init) : nil
        })
        for name in Self.exported.sorted() where !Self.needsMoreThanAnAgent(name) {
            #expect(declared.contains(name), "no `# TYPE \(name)` in /metrics")
        }
    }
}
