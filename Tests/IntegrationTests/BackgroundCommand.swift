import Foundation

/// A command that runs while the test goes on: its output is collected as it
/// comes (readable at any time), and `finish` awaits its exit without holding
/// a thread of the concurrency pool.
final class BackgroundCommand: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let readersDone = DispatchGroup()

    /// Starts `executable` with `arguments`; `environment` is added to the test's own.
    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        collect(outPipe.fileHandleForReading, isStderr: false)
        collect(errPipe.fileHandleForReading, isStderr: true)
    }

    /// What the command wrote to stdout so far.
    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    /// What the command wrote to stderr so far.
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// Waits for the command to exit; after `timeout` seconds it is killed
    /// (its status is then the signal, 9, which fails any exit-code check).
    func finish(timeout: Double = 60) async -> CommandResult {
        let process = process, readersDone = readersDone
        let status = await onThread {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            _ = readersDone.wait(timeout: .now() + 10)
            return process.terminationStatus
        }
        return CommandResult(status: status, stdout: stdout, stderr: stderr)
    }

    /// Reads `handle` to its end on a thread of its own, appending to `out` or `err`.
    private func collect(_ handle: FileHandle, isStderr: Bool) {
        readersDone.enter()
        let descriptor = handle.fileDescriptor
        Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = read(descriptor, &chunk, chunk.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                lock.withLock {
                    if isStderr { err.append(contentsOf: chunk[..<count]) } else { out.append(contentsOf: chunk[..<count]) }
                }
            }
            withExtendedLifetime(handle) {}
            readersDone.leave()
        }.start()
    }
}
