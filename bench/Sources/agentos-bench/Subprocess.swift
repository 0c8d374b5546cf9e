import Foundation

/// A child process of the bench, with its stdout and stderr in temporary files.
///
/// Waiting never blocks Swift's cooperative threads: Foundation's termination
/// handler resumes the waiter.
final class Subprocess: @unchecked Sendable {
    let executable: String
    private let process = Process()
    private let exits: AsyncStream<Int32>
    private let outputPath: String
    private let errorPath: String

    /// Starts `executable`; `environment` is added to the bench's own.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        self.executable = executable
        let stem = NSTemporaryDirectory() + "agentos-bench-\(getpid())-\(UUID().uuidString)"
        outputPath = stem + ".out"
        errorPath = stem + ".err"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              FileManager.default.createFile(atPath: errorPath, contents: nil)
        else { throw BenchError("cannot create output files in \(NSTemporaryDirectory())") }
        let (exits, continuation) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        self.exits = exits
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try process.run()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Everything the process wrote to stdout so far.
    var output: Data { FileManager.default.contents(atPath: outputPath) ?? Data() }

    /// The last lines the process wrote to stderr, for error messages.
    var errorTail: String {
        let text = String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").suffix(5).joined(separator: "\n")
    }

    /// Waits for the process to exit and returns its exit status.
    func exitStatus() async -> Int32 {
        for await status in exits { return status }
        return process.terminationStatus
    }

    /// Sends SIGTERM, then SIGKILL if the process is still running `grace` seconds later, and waits for it.
    func stop(grace: Double = 30) async {
        guard process.isRunning else { return }
        process.terminate()
        let pid = pid
        let killer = Task {
            try await Task.sleep(nanoseconds: UInt64(grace * 1e9))
            kill(pid, SIGKILL)
        }
        _ = await exitStatus()
        killer.cancel()
    }

    /// Runs `executable` to the end and returns its stdout; throws with its stderr when it fails.
    static func output(of executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Data {
        let process = try Subprocess(executable, arguments, environment: environment)
        let status = await process.exitStatus()
        guard status == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with status \(status):\n\(process.errorTail)")
        }
        return process.output
    }
}
