import ControlAPI
import Foundation
import Testing

/// A plugin's `aos_ctx *` is a handle the kernel checks, never a pointer it
/// follows: a thread that outlives its instance gets AOS_ESTOPPING from every
/// syscall, a forged handle AOS_EINVAL, and the kernel and its other agents
/// carry on.
@Suite(.serialized) struct StaleHandleTests {
    @Test func everySyscallThroughAStaleHandleReturnsESTOPPINGAndTheKernelLives() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let report = kernel.scratch("straggler-report")
        try await kernel.load("echo")
        try await kernel.load("straggler", config: report)
        #expect(try await kernel.ask("straggler", "there?") == "here")
        #expect(try await kernel.client.unload("straggler").state == "stopped")

        #expect(try await kernel.eventually {
            ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").contains("null=")
        }, "the straggling thread never reported")
        let statuses = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: "=")
            return (String(parts[0]), Int32(parts[1]) ?? 0)
        }
        let syscalls = ["log", "now", "self", "send", "call", "reply", "infer", "infer_submit", "infer_cancel",
                        "tool_call", "tools_list", "call_delegate", "plugin_load", "plugin_unload"]
        #expect(statuses.map(\.0) == syscalls + ["forged", "null"])
        for (name, status) in statuses where syscalls.contains(name) {
            #expect(status == -5, "\(name) returned \(status), not AOS_ESTOPPING")
        }
        #expect(statuses.first { $0.0 == "forged" }?.1 == -1, "a forged handle is AOS_EINVAL")
        #expect(statuses.first { $0.0 == "null" }?.1 == -1, "a NULL handle is AOS_EINVAL")
        #expect(try await kernel.ask("echo", "still here") == "still here")
        try await kernel.expectHealthy()
    }
}
