import ControlAPI
import Foundation
import Testing

/// A real `agentosd` on a temporary home, for one test. `stop()` ends it with
/// SIGTERM and checks it exited cleanly; the home is removed afterwards.
final class KernelProcess: @unchecked Sendable {
    let home: AgentOSHome
    let pluginsDirectory: String
    let process = Process()
    let outputPath: String
    var client: ControlClient { ControlClient(home: home) }

    /// Starts a kernel with `arguments` (after `--plugins DIR`) and waits until it answers.
    init(_ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-test-\(UUID().uuidString.prefix(8))").path
        home = AgentOSHome(path: root + "/home")
        pluginsDirectory = root + "/Plugins"
        try FileManager.default.createDirectory(atPath: pluginsDirectory, withIntermediateDirectories: true)
        process.executableURL = Paths.agentosd
        process.arguments = ["--plugins", pluginsDirectory] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["AGENTOS_HOME": home.path]) { $1 }
        outputPath = root + "/agentosd.out"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try await waitUntilAnswering(sourceLocation: sourceLocation)
    }

    private func waitUntilAnswering(sourceLocation: SourceLocation) async throws {
        for _ in 0..<400 {
            if (try? await client.status()) != nil { return }
            guard process.isRunning else { break }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        Issue.record("agentosd did not start: \(stop().log)", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    /// Everything the kernel printed so far.
    func log() -> String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// SIGTERM, then waits; returns the exit status and what the kernel printed.
    @discardableResult
    func stop() -> (status: Int32, log: String) {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let log = log()
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: home.path).deletingLastPathComponent().path)
        return (process.terminationStatus, log)
    }

    /// Runs `agentctl` against this kernel.
    func agentctl(_ arguments: String...) throws -> CommandResult {
        try CommandResult.run(Paths.agentctl, Array(arguments), environment: ["AGENTOS_HOME": home.path])
    }

    /// Loads a fixture (`build/fixtures/NAME.so`) or example (`build/plugins/NAME.so`).
    @discardableResult
    func load(_ plugin: String, as name: String? = nil, config: String? = nil) async throws -> InstanceInfo {
        try await client.load(LoadRequest(path: Paths.plugin(plugin), name: name, config: config))
    }

    /// Sends `text` to `name` and waits for the reply text.
    func ask(_ name: String, _ text: String, timeoutMs: UInt32 = 10_000) async throws -> String {
        try await client.send(name, SendRequest(text: text, wait: true, timeoutMs: timeoutMs)).reply ?? ""
    }

    /// Checks the kernel still answers and a fresh echo instance still works.
    func expectHealthy(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let name = "echo-\(UUID().uuidString.prefix(6))"
        try await load("echo", as: name)
        #expect(try await ask(name, "still here") == "still here", sourceLocation: sourceLocation)
        _ = try await client.unload(name)
    }

    /// Polls `condition` for up to `seconds`.
    func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return try await condition()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// Where the built binaries and plugins are.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The directory holding the test bundle, and so `agentosd` and `agentctl`.
    static let products: URL = {
        var url = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("agentosd").path) && url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }()
    static var agentosd: URL { products.appendingPathComponent("agentosd") }
    static var agentctl: URL { products.appendingPathComponent("agentctl") }

    /// `build/fixtures/NAME.so`, else `build/plugins/NAME.so` (built by `make test`).
    static func plugin(_ name: String) -> String {
        let fixture = root.appendingPathComponent("build/fixtures/\(name).so").path
        if FileManager.default.fileExists(atPath: fixture) { return fixture }
        return root.appendingPathComponent("build/plugins/\(name).so").path
    }
}

/// The outcome of running a command to completion.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String

    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}
