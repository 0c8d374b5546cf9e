import Foundation
import KernelCore
import KernelPOSIX
import Logging

/// A kernel in this process that loads real plugin files with dlopen, for tool tests.
func makeToolKernel(handlerDeadline: Double = 10) throws -> Kernel {
    let copies = NSTemporaryDirectory() + "agentos-tools-\(UUID().uuidString)"
    let loader = PluginLoader(copiesDirectory: copies)
    try loader.prepare()
    var configuration = KernelConfiguration(pluginCopiesPath: copies)
    configuration.handlerDeadline = handlerDeadline
    return Kernel(configuration: configuration, loader: loader, threads: POSIXThreads(), logger: Logger(label: "tools-test"))
}

/// `build/fixtures/NAME.so`, else `build/plugins/NAME.so` (built by `make test`).
func pluginPath(_ name: String) -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let fixture = root.appendingPathComponent("build/fixtures/\(name).so").path
    if FileManager.default.fileExists(atPath: fixture) { return fixture }
    return root.appendingPathComponent("build/plugins/\(name).so").path
}

extension Kernel {
    /// Calls `tool` and returns its JSON result, or throws the kernel's error.
    func call(_ tool: String, _ arguments: String = "{}", timeoutMs: UInt32 = 10_000) throws -> String {
        try tools.callTool(tool, arguments: arguments, deadline: deadline(afterMilliseconds: timeoutMs)).outcome.get()
    }
}

/// Runs blocking `work` on its own thread, off the Swift concurrency pool.
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try condition()
}
