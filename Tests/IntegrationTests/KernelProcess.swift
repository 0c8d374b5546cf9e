import ControlAPI
import ControlClient
import Foundation
import Testing

/// A real `agentosd` on a temporary home, for one test. `stop()` ends it with
/// SIGTERM and checks it exited cleanly; the home is removed afterwards.
final class KernelProcess: @unchecked Sendable {
    /// The test's temporary folder: `home`, `Plugins`, the kernel's output, scratch files.
    let root: String
    let home: AgentOSHome
    let pluginsDirectory: String
    let process = Process()
    let outputPath: String
    var client: ControlClient { ControlClient(home: home) }

    /// Starts a kernel with `arguments` (after `--plugins DIR`) and waits until it answers.
    /// Without an `--engine` or `--model` argument it runs with `--engine none`:
    /// only the inference tests pay for loading the model.
    /// `root` reuses a folder (another kernel's, or one prepared by the test); default: a new one.
    /// `agentosd` runs another build of the kernel (an installed one); `environment` adds to the test's.
    init(
        _ arguments: [String] = [], root: String? = nil, agentosd: URL = Paths.agentosd, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let usesEngine = arguments.contains { $0 == "--engine" || $0 == "--model" }
        let arguments = usesEngine ? arguments : ["--engine", "none"] + arguments
        let root = root ?? Self.newRoot()
        self.root = root
        home = AgentOSHome(path: root + "/home")
        pluginsDirectory = root + "/Plugins"
        try FileManager.default.createDirectory(atPath: pluginsDirectory, withIntermediateDirectories: true)
        process.executableURL = agentosd
        process.arguments = ["--plugins", pluginsDirectory] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["AGENTOS_HOME": home.path]) { $1 }) { $1 }
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

    /// A fresh temporary folder path for a test (not created).
    static func newRoot() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("agentos-test-\(UUID().uuidString.prefix(8))").path
    }

    /// A path for a scratch file in the test's folder (removed by `stop()`).
    func scratch(_ name: String) -> String { root + "/" + name }

    /// Sends `signal` to the kernel process.
    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits, off the concurrency pool, until the kernel process has exited; returns its status.
    func waitForExit() async -> Int32 {
        let process = process
        return await onThread {
            process.waitUntilExit()
            return process.terminationStatus
        }
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

    /// Runs `agentctl` against this kernel on a thread of its own (for async tests).
    func agentctlAsync(_ arguments: String..., timeout: Double = 60) async throws -> CommandResult {
        try await startAgentctl(arguments).finish(timeout: timeout)
    }

    /// Starts `agentctl` against this kernel and returns at once; `finish()` collects it.
    func startAgentctl(_ arguments: [String]) throws -> BackgroundCommand {
        try BackgroundCommand(Paths.agentctl, arguments, environment: ["AGENTOS_HOME": home.path])
    }

    /// The instance named `name` in `ps -a` (the newest one of that name), or nil.
    func listed(_ name: String) async throws -> InstanceRow? {
        try await client.instances(all: true).last { $0.name == name }
    }

    /// Polls `name`'s log for up to `seconds` until a line contains `text`.
    func waitForLog(_ name: String, containing text: String, seconds: Double = 10) async throws -> Bool {
        try await eventually(seconds) {
            var found = false
            for try await entry in client.logs(name) where entry.text.contains(text) { found = true }
            return found
        }
    }

    /// The private plugin copies under `HOME/plugins`: one per loaded library.
    func privateCopies() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: home.pluginCopiesPath)) ?? []
    }

    /// Loads a fixture (`build/fixtures/NAME.so`) or example (`build/plugins/NAME.so`),
    /// granting it `grants` (capability texts) besides what policy.yaml grants.
    @discardableResult
    func load(_ plugin: String, as name: String? = nil, config: String? = nil, grants: [String] = []) async throws -> InstanceInfo {
        try await client.load(LoadRequest(path: Paths.plugin(plugin), name: name, config: config, grants: grants.isEmpty ? nil : grants))
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

/// Runs `body`, which must fail with the control API error `code` (and HTTP
/// `status` when given); returns the error's message for further checks.
@discardableResult
func expectAPIError<T>(
    _ code: String, status: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> String {
    do {
        let value = try await body()
        Issue.record("expected error \(code), got \(value)", sourceLocation: sourceLocation)
    } catch ControlClientError.api(let actualStatus, let actualCode, let message) {
        #expect(actualCode == code, "\(message)", sourceLocation: sourceLocation)
        if let status { #expect(actualStatus == status, "\(actualCode): \(message)", sourceLocation: sourceLocation) }
        return message
    } catch {
        Issue.record("expected error \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return ""
}

/// Runs blocking `work` on its own OS thread and awaits its result, so tests
/// never block the cooperative pool (two threads on a two-core machine).
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
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
    /// The default model and llama.cpp's tools, from `make engine`.
    static let model = root.appendingPathComponent(".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let llamaTools = root.appendingPathComponent(".deps/llama.cpp/install/bin")

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
