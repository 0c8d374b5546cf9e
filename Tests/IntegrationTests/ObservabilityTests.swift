import ControlAPI
import Foundation
import FoundationNetworking
import Glibc
import Testing

/// Metrics, probes and structured logs of a real kernel: exact counts after a
/// known workload, the TCP metrics port, scrapes during load/unload storms.
@Suite(.serialized) struct ObservabilityTests {
    /// A scrape as `series → value`, each series written `name{label="value",…}` with its labels sorted.
    static func scrape(_ kernel: KernelProcess) async throws -> [String: Double] {
        let (status, body) = try await kernel.client.raw(.GET, "/metrics")
        #expect(status == 200)
        return parse(String(decoding: body, as: UTF8.self))
    }

    static func parse(_ text: String) -> [String: Double] {
        var series: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            var name = String(line[..<space])
            if let open = name.firstIndex(of: "{") {
                let labels = name[name.index(after: open)..<name.index(before: name.endIndex)]
                    .split(separator: ",").map(String.init).sorted()
                name = name[..<open] + "{" + labels.joined(separator: ",") + "}"
            }
            series[name] = value
        }
        return series
    }

    @Test func aKnownWorkloadIsCountedExactly() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        try await kernel.load("calculator")
        for index in 0..<5 { #expect(try await kernel.ask("echo", "hello \(index)") == "hello \(index)") }
        await expectAPIError("not_found") { try await kernel.client.send("nobody", SendRequest(text: "hi")) }
        for _ in 0..<3 { _ = try await kernel.client.callTool("calculator.add", arguments: #"{"a": 1, "b": 2}"#) }
        await expectAPIError("invalid_tool_arguments") { try await kernel.client.callTool("calculator.add", arguments: #"{"a": 1}"#) }
        await expectAPIError("tool_failed") { try await kernel.client.callTool("calculator.divide", arguments: #"{"a": 1, "b": 0}"#) }

        let metrics = try await Self.scrape(kernel)
        #expect(metrics[#"agentos_messages_delivered_total{agent="echo"}"#] == 5)
        #expect(metrics[#"agentos_messages_sent_total{agent="agentctl"}"#] == 5)
        #expect(metrics[#"agentos_messages_refused_total{agent="agentctl",reason="enotfound"}"#] == 1)
        #expect(metrics[#"agentos_syscalls_total{agent="echo",status="ok",syscall="reply"}"#] == 5)
        #expect(metrics[#"agentos_handler_duration_seconds_count{agent="echo"}"#] == 5)
        #expect(metrics[#"agentos_tool_calls_total{status="ok",tool="calculator.add"}"#] == 3)
        #expect(metrics[#"agentos_tool_calls_total{status="invalid_tool_arguments",tool="calculator.add"}"#] == 1)
        #expect(metrics[#"agentos_tool_calls_total{status="tool_failed",tool="calculator.divide"}"#] == 1)
        #expect(metrics[#"agentos_tool_duration_seconds_count{tool="calculator.add"}"#] == 3)
        #expect(metrics[#"agentos_instances{state="running"}"#] == 2)
        #expect(metrics[#"agentos_mailbox_depth{agent="echo"}"#] == 0)
        #expect((metrics["process_resident_memory_bytes"] ?? 0) > 1_048_576)
        #expect((metrics["process_open_fds"] ?? 0) > 2)
        #expect((metrics["process_threads"] ?? 0) >= 3)
        #expect((metrics["agentos_uptime_seconds"] ?? 0) > 0)
    }

    @Test func inferenceIsCountedByAgentAndTokenType() async throws {
        let kernel = try await KernelProcess(InferenceTests.engine)
        defer { kernel.stop() }
        var request = InferRequest(prompt: "Name a color.")
        request.maxTokens = 8
        request.agent = "painter"
        let result = try await kernel.client.infer(request)
        let metrics = try await Self.scrape(kernel)
        #expect(metrics[#"agentos_inference_requests_total{agent="painter",finish_reason="\#(result.finishReason)"}"#] == 1)
        #expect(metrics[#"agentos_inference_tokens_total{agent="painter",type="input"}"#] == Double(result.usage.promptTokens))
        #expect(metrics[#"agentos_inference_tokens_total{agent="painter",type="output"}"#] == Double(result.usage.completionTokens))
        #expect(metrics[#"agentos_inference_time_to_first_token_seconds_count{agent="painter"}"#] == 1)
        #expect(metrics[#"agentos_inference_queue_wait_seconds_count{agent="painter"}"#] == 1)
        #expect((metrics["agentos_engine_batch_size_count"] ?? 0) >= Double(result.usage.completionTokens))
        #expect(metrics["agentos_engine_active_sequences"] == 0)
        #expect(metrics["agentos_engine_kv_cache_usage_ratio"] == 0)
    }

    @Test func probesAnswerOnTheSocketAndStatusShowsReadiness() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let live = try await kernel.client.raw(.GET, "/livez")
        #expect(live.status == 200 && String(decoding: live.body, as: UTF8.self).contains(#""status":"ok""#))
        #expect(try await kernel.eventually { try await kernel.client.raw(.GET, "/readyz").status == 200 })
        #expect(try kernel.agentctl("status").stdout.contains("yes"))
    }

    @Test func theMetricsPortServesPrometheusAndABusyPortStopsStartup() async throws {
        let port = try Self.freePort()
        let kernel = try await KernelProcess(["--metrics-addr", "127.0.0.1:\(port)"])
        defer { kernel.stop() }
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains("# TYPE agentos_uptime_seconds gauge"))
        let (_, ready) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!)
        #expect((ready as? HTTPURLResponse)?.statusCode == 200)
        let (_, loads) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/v1/instances")!)
        #expect((loads as? HTTPURLResponse)?.statusCode == 404, "the metrics port must not expose the control API")

        let second = try CommandResult.run(
            Paths.agentosd, ["--engine", "none", "--no-plugins-dir", "--metrics-addr", "127.0.0.1:\(port)"],
            environment: ["AGENTOS_HOME": kernel.scratch("second-home")])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot serve metrics on 127.0.0.1:\(port): address already in use"), "\(second.stderr)")
    }

    @Test func scrapesDuringLoadAndUnloadStormsStayConsistent() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<30 {
                    try await kernel.load("echo", as: "storm-\(index)")
                    _ = try await kernel.client.unload("storm-\(index)")
                }
            }
            group.addTask {
                for _ in 0..<30 {
                    let (status, body) = try await kernel.client.raw(.GET, "/metrics")
                    #expect(status == 200 && !body.isEmpty)
                }
            }
            try await group.waitForAll()
        }
        let metrics = try await Self.scrape(kernel)
        #expect(!metrics.keys.contains { $0.hasPrefix("agentos_mailbox_depth{") }, "unloaded agents keep no mailbox series")
        #expect(metrics[#"agentos_instances{state="stopped"}"#] == 30)
        try await kernel.expectHealthy()
    }

    @Test func jsonLogsCarryTheAgentOnEveryLine() async throws {
        let kernel = try await KernelProcess(["--log-format", "json"])
        try await kernel.load("echo")
        let log = kernel.stop().log
        let lines = log.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil && object?["time"] != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains(#""agent":"echo""#) && $0.contains(#""message":"loaded""#) })
    }

    @Test func everyControlRequestHasAnIdThatFindsItInTheLog() async throws {
        let kernel = try await KernelProcess(["--log-format", "json"])
        try await kernel.load("echo")
        let minted = try CommandResult.run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            ["-si", "--unix-socket", kernel.home.socketPath, "-X", "POST", "-d", #"{"text":"hi"}"#, "http://agentos/v1/instances/echo/messages"])
        let header = minted.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-request-id: ") }
        let id = try #require(header.map { String($0.dropFirst("x-request-id: ".count)) })
        #expect(id.hasPrefix("ctl-"))
        let given = try CommandResult.run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            ["-si", "--unix-socket", kernel.home.socketPath, "-H", "X-Request-Id: deploy-42", "http://agentos/v1/status"])
        #expect(given.stdout.contains("x-request-id: deploy-42") || given.stdout.contains("X-Request-Id: deploy-42"), "\(given.stdout)")
        let log = kernel.stop().log
        #expect(log.split(separator: "\n").contains { $0.contains(#""request":"\#(id)""#) && $0.contains(#""path":"/v1/instances/echo/messages""#) }, "\(log)")
    }

    @Test func logsSinceAndTraceOfAnUnknownRequest() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        #expect(try kernel.agentctl("logs", "echo", "--since", "1h").stdout.contains("loaded from"))
        #expect(try kernel.agentctl("logs", "echo", "--since", "5x").status == 2)
        let unknown = try kernel.agentctl("trace", "123456")
        #expect(unknown.status == 1 && unknown.stderr.contains("no trace of request 123456"), "\(unknown.stderr)")
    }

    @Test func topOnceShowsEveryAgentAndTheEngine() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let top = try await kernel.agentctlAsync("top", "--once", "--interval", "0.3", "-o", "json")
        #expect(top.status == 0, "\(top.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as? [String: Any]
        #expect(report?["engine"] != nil)
        let instances = report?["instances"] as? [[String: Any]] ?? []
        #expect(instances.contains { $0["name"] as? String == "echo" }, "\(top.stdout)")
        #expect(try kernel.agentctl("top", "-o", "json").status == 2)
    }

    @Test func withoutMetricsTheRouteIsAbsent() async throws {
        let kernel = try await KernelProcess(["--no-metrics"])
        defer { kernel.stop() }
        #expect(try await kernel.client.raw(.GET, "/metrics").status == 404)
        #expect(try await kernel.client.raw(.GET, "/livez").status == 200)
    }

    /// A TCP port nobody listens on now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
