import ControlAPI
import Foundation
import Testing

/// The kernel's fatal paths name the plugin behind them: a plugin's `exit`
/// ends the kernel with a failure status and a line naming the instance; a
/// crash (an escaping C++ exception, a NULL dereference in a thread-safe tool
/// on a borrowed thread) dies of its signal after one line naming the
/// instance or tool, with the whole report short.
@Suite(.serialized) struct FatalPathTests {
    /// A crash's whole output stays under this.
    static let maxCrashOutput = 64 << 10

    init() {
        // The kernel chains to Swift's full backtracer when SWIFT_BACKTRACE is
        // set; these tests pin the default, short report.
        unsetenv("SWIFT_BACKTRACE")
    }

    @Test func pluginCallingExitInOnMessageEndsTheKernelWithStatus70NamingTheInstance() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("exiter")
        #expect(try await kernel.ask("exiter", "hello") == "hello")
        // The kernel may end before it answers.
        _ = try? await kernel.client.send("exiter", SendRequest(text: "exit", wait: false, timeoutMs: 0))
        #expect(await kernel.waitForExit() == 70, "\(kernel.log())")
        #expect(kernel.process.terminationReason == .exit)
        #expect(kernel.log().contains(
            "agentosd: exit(0) called in plugin instance exiter (thread aos:exiter), not by the kernel's shutdown: ending with status 70"),
            "\(kernel.log())")
    }

    @Test func pluginCallingExitInInitIsCaughtTheSameWay() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try? await kernel.load("exiter", as: "early", config: "exit")
        #expect(await kernel.waitForExit() == 70, "\(kernel.log())")
        #expect(kernel.log().contains("agentosd: exit(0) called in plugin instance early (thread aos:early)"), "\(kernel.log())")
    }

    @Test func kernelsOwnShutdownKeepsStatusZeroAndSaysNothingOfExit() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("exiter")
        kernel.signal(SIGTERM)
        #expect(await kernel.waitForExit() == 0, "\(kernel.log())")
        #expect(!kernel.log().contains("not by the kernel's shutdown"), "\(kernel.log())")
    }

    /// The handler of a stack overflow runs on the instance thread's alternate signal stack.
    @Test func stackOverflowNamesTheInstance() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("overflow")
        #expect(try await kernel.ask("overflow", "hello") == "hello")
        _ = try? await kernel.client.send("overflow", SendRequest(text: "overflow", wait: false, timeoutMs: 0))
        #expect(await kernel.waitForExit() == SIGSEGV, "\(kernel.log())")
        let log = kernel.log()
        #expect(log.contains("agentosd: fatal SIGSEGV in plugin instance overflow (thread aos:overflow)"), "\(log)")
        #expect(log.utf8.count < Self.maxCrashOutput, "\(log.utf8.count) bytes of crash output")
    }

    @Test func escapingCppExceptionNamesTheInstanceAndStaysShort() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("thrower")
        #expect(try await kernel.ask("thrower", "hello") == "hello")
        _ = try? await kernel.client.send("thrower", SendRequest(text: "throw", wait: false, timeoutMs: 0))
        #expect(await kernel.waitForExit() == SIGABRT, "\(kernel.log())")
        #expect(kernel.process.terminationReason == .uncaughtSignal)
        let log = kernel.log()
        #expect(log.contains("agentosd: fatal SIGABRT in plugin instance thrower (thread aos:thrower)"), "\(log)")
        #expect(log.contains("thrower: an exception escaped on_message"), "the runtime's terminate line: \(log)")
        #expect(!log.contains("instance hung"), "no debugger held the crash up: \(log)")
        #expect(log.utf8.count < Self.maxCrashOutput, "\(log.utf8.count) bytes of crash output")
    }

    /// A Swift runtime error (here an index out of range) in an AgentOSKit handler is a
    /// crash, on the same path as C's: SIGILL, the trap Swift compiles it to on x86-64.
    @Test func swiftTrapInAHandlerNamesTheInstance() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("swiftprobe")
        #expect(try await kernel.ask("swiftprobe", "unknown") == "unknown command unknown")
        _ = try? await kernel.client.send("swiftprobe", SendRequest(text: "trap", wait: true, timeoutMs: 5000))
        #expect(await kernel.waitForExit() == SIGILL, "\(kernel.log())")
        let log = kernel.log()
        #expect(log.contains("agentosd: fatal SIGILL in plugin instance swiftprobe (thread aos:swiftprobe)"), "\(log)")
        #expect(log.utf8.count < Self.maxCrashOutput, "\(log.utf8.count) bytes of crash output")
    }

    @Test func crashingThreadSafeToolOnAControlAPIThreadNamesTheTool() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("crashtool")
        _ = try? await kernel.client.callTool("crashtool.deref", arguments: "{}")
        #expect(await kernel.waitForExit() == SIGSEGV, "\(kernel.log())")
        let log = kernel.log()
        #expect(log.contains("agentosd: fatal SIGSEGV in tool crashtool.deref (thread "), "\(log)")
        #expect(log.utf8.count < Self.maxCrashOutput, "\(log.utf8.count) bytes of crash output")
    }

    @Test func crashingThreadSafeToolOnAnAgentsThreadNamesTheToolAndTheThread() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("crashtool")
        try await kernel.load("toolcaller", grants: ["tool:crashtool.deref"])
        _ = try? await kernel.ask("toolcaller", "call crashtool.deref {}")
        #expect(await kernel.waitForExit() == SIGSEGV, "\(kernel.log())")
        let log = kernel.log()
        #expect(log.contains("agentosd: fatal SIGSEGV in tool crashtool.deref (thread aos:toolcaller)"), "\(log)")
        #expect(log.utf8.count < Self.maxCrashOutput, "\(log.utf8.count) bytes of crash output")
    }

    @Test func serviceUnitRestartsOnEveryExitSystemdDidNotAskFor() throws {
        let unit = try String(contentsOf: Paths.root.appendingPathComponent("deploy/agentosd.service"), encoding: .utf8)
        let settings = unit.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(settings.contains("Restart=always"), "\(settings.filter { $0.hasPrefix("Restart") })")
    }
}
