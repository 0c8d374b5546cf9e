import ControlAPI
import Foundation
import Testing

/// `--engine openai --engine-tools` against a real llama-server on the default
/// model, whose own chat template has no tools: the server drops `tools`
/// without a word. Tried as a user would, with `agentctl infer --require-tool`.
@Suite(.serialized) struct EngineToolsTests {
    static let question = "What is 12.5 times 4?"

    /// Runs `body` with a kernel whose engine is a fresh llama-server, tools offered as `format`.
    private func withServedKernel(_ format: String, _ body: (KernelProcess) async throws -> Void) async throws {
        let binary = Paths.root.appendingPathComponent(".deps/llama.cpp/install/bin/llama-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no llama-server: run `make engine`")
        let port = try ObservabilityTests.freePort()
        let server = Process()
        // Under `timeout`, so the server dies even if this test process does first.
        server.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        server.arguments = ["-s", "KILL", "600", binary, "-m", Paths.model, "--host", "127.0.0.1", "--port", "\(port)",
                            "-np", "2", "-c", "4096", "--threads", "2"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // llama-server may take long to shut down gracefully: kill the group `timeout` leads.
            kill(-server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var healthy = false
        for _ in 0..<600 where server.isRunning {
            let probe = await onThread {
                try? CommandResult.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/health"])
            }
            if probe?.stdout == "200" {
                healthy = true
                break
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        try #require(healthy, "llama-server did not start")
        let kernel = try await KernelProcess([
            "--engine", "openai", "--engine-url", "http://127.0.0.1:\(port)/v1", "--engine-model", "smollm2",
            "--engine-tools", format, "--slots", "2", "--ctx", "4096",
        ])
        defer { kernel.stop() }
        try await kernel.load("calculator")
        try await body(kernel)
    }

    @Test func nativeToolsThatTheServerDropsAreANamedErrorNeverAnAnswer() async throws {
        try await withServedKernel("native") { kernel in
            let result = try await kernel.agentctlAsync("infer", "--tools", "calculator.*", "--require-tool", Self.question, timeout: 120)
            #expect(result.status == 1 && result.stderr.contains("a tool call was required but none was made"), "\(result.stdout) \(result.stderr)")
            #expect(result.stdout.isEmpty, "the prose answer was printed: \(result.stdout)")
        }
    }

    @Test(arguments: ["kernel", "auto"])
    func kernelAndAutoToolsCallTheCalculator(_ format: String) async throws {
        try await withServedKernel(format) { kernel in
            let result = try await kernel.agentctlAsync("infer", "--tools", "calculator.*", "--require-tool", "-o", "json", Self.question, timeout: 180)
            #expect(result.status == 0, "\(result.stderr)")
            let answer = try ControlJSON.decoder().decode(InferResult.self, from: Data(result.stdout.utf8))
            let step = try #require(answer.steps?.first, "no tool call: \(answer.text)")
            #expect(step.tool.hasPrefix("calculator.") && step.error == nil, "\(step)")
            #expect(!answer.text.isEmpty && !answer.text.contains("<tool_call>"), "\(answer.text)")
        }
    }
}
