import ControlAPI
import Dispatch
import Hummingbird
import KernelCore

/// The tool part of the control API: `agentctl tools` and `agentctl call`.
enum ToolRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, bodyLimit: Int) {
        v1.get("tools") { request, _ in
            let patterns = request.uri.queryParameters.get("match").map { [$0] } ?? []
            return try JSONResponse.make(kernel.tools.toolDescriptions(matching: patterns).map(ToolInfo.init))
        }

        v1.post("tools/:name/call") { request, context in
            let name = try context.parameters.require("name")
            let body = try await JSONResponse.decode(CallToolRequest.self, from: request, limit: bodyLimit)
            let timeoutMs = body.timeoutMs ?? kernel.configuration.toolTimeoutMs
            // A call may block (a queued tool, a slow one): run it off the Swift concurrency pool.
            let record = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: kernel.tools.callTool(
                        name, arguments: body.arguments, deadline: deadline(afterMilliseconds: timeoutMs)))
                }
            }
            switch record.outcome {
            case .success(let json):
                return try JSONResponse.make(CallToolResult(tool: name, result: json, durationMs: Double(record.durationNanos) / 1e6))
            case .failure(let error) where error.code == .toolFailed:
                throw KernelError(.toolFailed, "\(name) failed: \(error.message)")
            case .failure(let error):
                throw error
            }
        }
    }
}
