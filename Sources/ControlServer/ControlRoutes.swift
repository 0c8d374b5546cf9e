import ControlAPI
import CAgentOS
import Foundation
import Hummingbird
import KernelCore

/// Facts about the running kernel that the control API reports.
public struct ControlEnvironment: Sendable {
    public var version: String
    public var home: String
    public var pluginsDirectory: String?
    public var readiness: Readiness
    /// nil when agentosd runs with --no-metrics.
    public var metrics: MetricsExporter?
    /// Where ratings of answers go (`agentctl feedback`), or why they cannot.
    public var feedback: FeedbackAvailability
    /// The answers that can be rated: the last ones given to `send --wait`.
    public let recentAnswers = RecentAnswers()

    public init(
        version: String, home: String, pluginsDirectory: String?, readiness: Readiness, metrics: MetricsExporter?,
        feedback: FeedbackAvailability = .disabled(reason: "no feedback database was opened")
    ) {
        self.version = version
        self.home = home
        self.pluginsDirectory = pluginsDirectory
        self.readiness = readiness
        self.metrics = metrics
        self.feedback = feedback
    }
}

/// The control API: HTTP/1.1 with JSON bodies, versioned under `/v1`.
///
///     GET    /v1/version
///     GET    /v1/status
///     GET    /v1/instances[?all=1]
///     POST   /v1/instances                      LoadRequest → InstanceInfo (201); a bad grant is 400, nothing loaded
///     GET    /v1/instances/NAME
///     DELETE /v1/instances/NAME[?timeout_ms=N]  → InstanceInfo of the stopped instance
///     POST   /v1/instances/NAME/messages        SendRequest → SendResponse
///     GET    /v1/instances/NAME/logs[?tail=N&since=SECONDS&follow=1]  → JSON Lines
///     POST   /v1/infer                          InferRequest → InferResult, or JSON Lines with stream
///     DELETE /v1/infer/ID                       cancel a request
///     GET    /v1/engine                         → EngineStatus
///     GET    /v1/tools[?match=GLOB]             → [ToolInfo]
///     POST   /v1/tools/NAME/call                CallToolRequest → CallToolResult
///     POST   /v1/feedback, GET /v1/feedback/stats, GET /v1/feedback/export  (see FeedbackRoutes)
///     GET|POST /v1/instances/NAME/capabilities, GET|PATCH /v1/instances/NAME/quotas, GET /v1/audit  (see SecurityRoutes)
///     GET    /metrics                           Prometheus text format
///     GET    /livez, /readyz                    → HealthStatus (503 when not ready)
public enum ControlRoutes {
    /// Largest request body accepted: a maximal message, JSON-escaped, with room to spare.
    static func bodyLimit(_ kernel: Kernel) -> Int { kernel.configuration.maxMessageBytes * 6 + 64 * 1024 }
    static let bodyLimitDescription = "6 × --max-message-bytes + 64 KiB"

    public static func router(kernel: Kernel, environment: ControlEnvironment) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorMiddleware())
        addObservability(to: router, kernel: kernel, environment: environment)
        let v1 = router.group("v1")

        v1.get("version") { _, _ in
            try JSONResponse.make(VersionInfo(version: environment.version, abiMajor: Int(AOS_ABI_MAJOR), abiMinor: Int(AOS_ABI_MINOR)))
        }

        v1.get("status") { _, _ in
            var counts: [String: Int] = [:]
            for summary in kernel.summaries(all: true) { counts[summary.state.rawValue, default: 0] += 1 }
            return try JSONResponse.make(KernelStatus(
                version: environment.version, abiMajor: Int(AOS_ABI_MAJOR), abiMinor: Int(AOS_ABI_MINOR),
                pid: getpid(), home: environment.home, pluginsDir: environment.pluginsDirectory,
                startedAt: kernel.startedAt, uptimeSeconds: Date().timeIntervalSince(kernel.startedAt),
                instances: counts, messagesDelivered: kernel.messages.deliveredCount, messagesRefused: kernel.messages.refusedCount,
                notReady: environment.readiness.reasons))
        }

        v1.get("instances") { request, _ in
            let all = try flag(request, "all")
            let accounts = kernel.inference.scheduler.allAccounts()
            return try JSONResponse.make(InstanceList(instances: kernel.summaries(all: all).map {
                var info = InstanceInfo($0, inference: accounts[$0.name])
                info.addSecurity(from: kernel)
                return info
            }))
        }

        v1.post("instances") { request, _ in
            let load = try await JSONResponse.decode(LoadRequest.self, from: request, limit: bodyLimit(kernel))
            let grants = try (load.grants ?? []).map { text throws(KernelError) in try Capability(parsing: text) }
            let instance = try await kernel.lifecycle.load(
                path: load.path, name: load.name, config: load.config ?? "", priority: load.priority ?? 0, grants: grants)
            var info = InstanceInfo(instance.summary())
            info.addSecurity(from: kernel)
            return try JSONResponse.make(info, status: .created)
        }

        v1.get("instances/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let instance = kernel.instance(named: name) else { throw noInstance(name) }
            var info = InstanceInfo(instance.summary(), inference: kernel.inference.scheduler.account(of: name))
            info.addSecurity(from: kernel)
            return try JSONResponse.make(info)
        }

        v1.delete("instances/:name") { request, context in
            let name = try context.parameters.require("name")
            let timeoutMs = try integer(request, "timeout_ms", default: 5000, range: 0...3_600_000)
            let force = try integer(request, "force", default: 0, range: 0...1) == 1
            let summary = try await kernel.lifecycle.unload(name: name, timeout: Double(timeoutMs) / 1000, force: force)
            return try JSONResponse.make(InstanceInfo(summary))
        }

        v1.post("instances/:name/messages") { request, context in
            let name = try context.parameters.require("name")
            let message = try await JSONResponse.decode(SendRequest.self, from: request, limit: bodyLimit(kernel))
            let started = Date()
            let timeoutMs = message.timeoutMs == 0 ? 30_000 : message.timeoutMs
            let (id, reply, inference) = try await kernel.messages.deliver(to: name, body: Array(message.text.utf8), wait: message.wait, timeoutMs: timeoutMs)
            let replyText = reply.map { String(decoding: $0, as: UTF8.self) }
            if let replyText {
                environment.recentAnswers.record(id, .init(agent: name, question: message.text, answer: replyText))
            }
            return try JSONResponse.make(SendResponse(
                messageId: id,
                reply: replyText,
                elapsedSeconds: message.wait ? Date().timeIntervalSince(started) : nil,
                inferenceRequests: message.wait ? inference : nil))
        }

        v1.get("instances/:name/logs") { request, context in
            let name = try context.parameters.require("name")
            let tail = try request.uri.queryParameters["tail"].map { _ in try integer(request, "tail", default: 0, range: 0...1_000_000) }
            let since = try request.uri.queryParameters["since"].map { _ in try integer(request, "since", default: 0, range: 0...100_000_000) }
            let cutoff = since.map { Date().addingTimeInterval(-Double($0)) } ?? .distantPast
            guard let log = kernel.log(of: name) else { throw noInstance(name) }
            let lines = try flag(request, "follow") ? log.follow(tail: tail) : AsyncStream { continuation in
                for line in log.tail(tail) { continuation.yield(line) }
                continuation.finish()
            }
            let encoder = ControlJSON.encoder()
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson"],
                body: ResponseBody { writer in
                    for await line in lines where line.time >= cutoff {
                        var data = try encoder.encode(LogEntry(line))
                        data.append(UInt8(ascii: "\n"))
                        try await writer.write(ByteBuffer(bytes: data))
                    }
                    try await writer.finish(nil)
                })
        }
        InferenceRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        ToolRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        SecurityRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        FeedbackRoutes.add(
            to: v1, feedback: environment.feedback, answers: environment.recentAnswers, kernelStartedAt: kernel.startedAt,
            bodyLimit: bodyLimit(kernel))
        return router
    }

    private static func noInstance(_ name: String) -> KernelError {
        KernelError(.notFound, "no instance named \(name) (see `agentctl ps -a`)")
    }

    private static func flag(_ request: Request, _ name: String) throws -> Bool {
        switch request.uri.queryParameters[Substring(name)].map(String.init) {
        case nil, "0", "false": false
        case "", "1", "true": true
        case let other?: throw RequestError.badQuery("query parameter \(name)=\(other) should be 0 or 1")
        }
    }

    private static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return value }
        guard let number = Int(raw), range.contains(number) else {
            throw RequestError.badQuery("query parameter \(name)=\(raw) should be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}

extension ControlRoutes {
    /// The routes of `--metrics-addr`: `/metrics`, `/livez` and `/readyz`, nothing that changes the kernel.
    public static func metricsRouter(kernel: Kernel, environment: ControlEnvironment) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        addObservability(to: router, kernel: kernel, environment: environment)
        return router
    }

    /// `/metrics` (when metrics are on) and the probes.
    static func addObservability(to router: Router<BasicRequestContext>, kernel: Kernel, environment: ControlEnvironment) {
        HealthRoutes.add(to: router, kernel: kernel, readiness: environment.readiness)
        guard let metrics = environment.metrics else { return }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.scrape(kernel))))
        }
    }
}
