import ControlAPI
import Foundation

/// A release `agentosd` on a temporary home, driven through the control API.
final class BenchKernel: @unchecked Sendable {
    let process: Process
    let home: AgentOSHome
    var client: ControlClient { ControlClient(home: home) }

    private init(process: Process, home: AgentOSHome) {
        self.process = process
        self.home = home
    }

    static func start(agentosd: String) async throws -> BenchKernel {
        let home = AgentOSHome(path: NSTemporaryDirectory() + "agentos-bench-\(getpid())")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: agentosd)
        process.arguments = ["--no-plugins-dir", "--log-level", "warning"]
        process.environment = ProcessInfo.processInfo.environment.merging(["AGENTOS_HOME": home.path]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let kernel = BenchKernel(process: process, home: home)
        for _ in 0..<400 {
            if (try? await kernel.client.status()) != nil { return kernel }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        kernel.stop()
        throw BenchError("agentosd at \(agentosd) did not start")
    }

    /// Asks the pinger example to run `command` and returns its JSON report's numbers.
    func pinger(_ command: String, timeoutMs: UInt32 = 60_000) async throws -> [String: Double] {
        let reply = try await client.send("pinger", SendRequest(text: command, wait: true, timeoutMs: timeoutMs)).reply ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any] else {
            throw BenchError("pinger answered \(reply)")
        }
        if let errors = object["errors"] as? Int, errors > 0 { throw BenchError("pinger reported errors: \(reply)") }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    /// Resident memory and thread count of the kernel, from /proc.
    func processStatus() throws -> (rssBytes: Int, threads: Int) {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0
        }
        return (field("VmRSS") * 1024, field("Threads"))
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: home.path)
    }
}

/// The bare C programs in bench/baselines: each prints one JSON line.
enum Baseline {
    static func run(_ executable: String, _ arguments: String...) throws -> [String: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw BenchError("\(executable) failed: \(String(decoding: data, as: UTF8.self))") }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}
