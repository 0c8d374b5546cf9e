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
///     GET    /v1/cluster/nodes                  → ClusterInfo
///     GET    /metrics                           Prometheus text format
///     GET    /livez, /readyz                    → HealthStatus (503 when not ready)
public enum ControlRoutes {
    /// Largest request body accepted: a maximal message, JSON-escaped, with room to spare.
    static func bodyLimit(_ kernel: Kernel) -> Int { kernel.configuration.maxMessageBytes * 6 + 64 * 1024 }
    static let bodyLimitDescription = "6 × --max-message-bytes + 64 KiB"

    public static func router(kernel: Kernel, environment: ControlEnvironment) -> Router<BasicRequestContext> {
        let router = Router()
        // Requests in progress, served and their durations, by route: http_server_active_requests and friends.
        router.add(middleware: MetricsMiddleware())
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
                notReady: environment.readiness.reasons, restore: RestoreInfo(kernel.records.report),
                crashes: CrashList(kernel.crashes.report)))
        }

        InstanceRoutes.add(to: v1, kernel: kernel, environment: environment, bodyLimit: bodyLimit(kernel))
        InferenceRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        ToolRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        SecurityRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        StorageRoutes.add(to: v1, kernel: kernel)
        SessionRoutes.add(to: v1, kernel: kernel)
        RunRoutes.add(to: v1, kernel: kernel, bodyLimit: bodyLimit(kernel))
        CrashRoutes.add(to: v1, kernel: kernel)
        ClusterRoutes.add(to: v1, kernel: kernel)
        FeedbackRoutes.add(
            to: v1, feedback: environment.feedback, answers: environment.recentAnswers, kernelStartedAt: kernel.startedAt,
            bodyLimit: bodyLimit(kernel))
        return router
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
