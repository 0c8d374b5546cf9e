import Dispatch
import KernelCore
import MCPTools
import StrictJSON

/// The kernel's tools as one API key sees them over MCP: only the tools its
/// `tool:GLOB` grants cover are listed or called; each call is charged to its
/// `tool_calls_per_minute` quota; refusals are audited under `key:NAME`, and
/// calls go through `ToolService`, which counts them in the tool's metrics.
struct KeyToolSource: MCPToolSource {
    let kernel: Kernel
    let key: APIKey
    let quota: KeyToolQuota

    /// What audit records of these calls name as the attempt.
    static let action = "mcp tools/call"

    func tools() async throws -> [MCPToolSpec] {
        kernel.tools.toolDescriptions().filter { key.mayCallTool($0.name) }.map { tool in
            MCPToolSpec(name: tool.name, description: tool.description, inputSchema: tool.parameters.jsonText)
        }
    }

    func call(_ name: String, arguments: String) async -> MCPToolOutcome {
        // Checked before the name is looked up, so a key cannot probe for tools it may not call.
        guard key.mayCallTool(name) else {
            let reason = "\(key.principal) does not hold tool:\(name.prefix(128))"
            audit(capability: "tool:\(name.prefix(128))", quota: nil, reason: reason)
            return .refused(.denied("permission denied: this key may not call \(name.prefix(128)) (it needs tool:\(name.prefix(128)))"))
        }
        guard let wait = quota.admit(key) else {
            let rate = key.quotas.toolCallsPerMinute ?? 0
            let waitMs = key.quotas.quotaWaitMs ?? QuotaLimits.defaultQuotaWaitMs
            let reason = "\(key.principal) is over its tool_calls_per_minute quota (\(rate)); the next call would wait more than quota_wait_ms (\(waitMs))"
            audit(capability: nil, quota: "tool_calls_per_minute", reason: reason)
            return .refused(.overQuota("quota exceeded: \(reason)"))
        }
        if wait > 0 {
            do { try await Task.sleep(nanoseconds: wait) } catch { return .failed("cancelled while waiting for the tool_calls_per_minute quota") }
        }
        let timeout = deadline(afterMilliseconds: kernel.configuration.toolTimeoutMs)
        // A call may block (a queued tool, a slow one): run it off the Swift concurrency pool.
        let record = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: kernel.tools.callTool(name, arguments: arguments, deadline: timeout))
            }
        }
        switch record.outcome {
        case .success(let json): return .result(json)
        case .failure(let error) where error.code == .toolNotFound: return .refused(.unknownTool(error.message))
        case .failure(let error) where error.code == .toolFailed: return .failed("\(name) failed: \(error.message)")
        case .failure(let error): return .failed(error.message)
        }
    }

    private func audit(capability: String?, quota: String?, reason: String) {
        kernel.capabilities.audit?.record(AuditRecord(
            agent: key.principal, syscall: Self.action, capability: capability, quota: quota, decision: .deny, reason: reason))
    }
}
