import ControlAPI
import Hummingbird
import KernelCore

/// The Kubernetes probe routes, on the control socket and the metrics port:
/// `GET /livez` (the kernel answers) and `GET /readyz` (it is ready to serve,
/// or 503 with the reasons).
enum HealthRoutes {
    static func add<Context: RequestContext>(to router: Router<Context>, kernel: Kernel, readiness: Readiness) {
        router.get("livez") { _, _ in
            // Takes the process table's and the scheduler's locks: a kernel stuck on either does not answer.
            _ = kernel.summaries(all: false).count + kernel.inference.scheduler.queueLength
            return try JSONResponse.make(HealthStatus(status: "ok", reasons: []))
        }
        router.get("readyz") { _, _ in
            let reasons = readiness.reasons
            let body = HealthStatus(status: reasons.isEmpty ? "ready" : "not ready", reasons: reasons)
            return try JSONResponse.make(body, status: reasons.isEmpty ? .ok : .serviceUnavailable)
        }
    }
}
