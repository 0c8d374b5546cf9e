import ControlAPI
import ControlClient
import Foundation
import Synchronization

/// A release `agentosd` on a temporary home, driven through the control API.
final class BenchKernel: Sendable {
    let process: Subprocess
    let home: AgentOSHome
    var client: ControlClient { ControlClient(home: home) }

    private init(process: Subprocess, home: AgentOSHome) {
        self.process = process
        self.home = home
    }

    /// Runs `body` against a kernel started with `arguments`, and stops the kernel afterwards.
    static func with<Result>(
        agentosd: String, _ arguments: [String], _ body: (BenchKernel) async throws -> Result
    ) async throws -> Result {
        let kernel = try await start(agentosd: agentosd, arguments)
        do {
            let result = try await body(kernel)
            await kernel.stop()
            return result
        } catch {
            await kernel.stop()
            throw error
        }
    }

    private static let starts = Mutex(0)

    private static func start(agentosd: String, _ arguments: [String]) async throws -> BenchKernel {
        let index = starts.withLock { count in
            count += 1
            return count
        }
        let home = AgentOSHome(path: NSTemporaryDirectory() + "agentos-bench-\(getpid())-\(index)")
        let process = try Subprocess(agentosd, ["--no-plugins-dir", "--log-level", "warning"] + arguments,
                                     environment: ["AGENTOS_HOME": home.path])
        let kernel = BenchKernel(process: process, home: home)
        for _ in 0..<1200 {
            if (try? await kernel.client.status()) != nil { return kernel }
            guard process.isRunning else { break }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        await kernel.stop()
        throw BenchError("agentosd at \(agentosd) did not start:\n\(process.errorTail)")
    }

    /// Asks the pinger example to run `command` and returns its JSON report's numbers.
    func pinger(_ command: String, name: String = "pinger", timeoutMs: UInt32 = 60_000) async throws -> [String: Double] {
        let reply = try await client.send(name, SendRequest(text: command, wait: true, timeoutMs: timeoutMs)).reply ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any] else {
            throw BenchError("pinger answered \(reply)")
        }
        if let errors = object["errors"] as? Int, errors > 0 { throw BenchError("pinger reported errors: \(reply)") }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    /// Resident memory and thread count of the kernel, from /proc.
    func processStatus() throws -> (rssBytes: Int, threads: Int) {
        let status = try String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0
        }
        return (field("VmRSS") * 1024, field("Threads"))
    }

    private func stop() async {
        await process.stop()
        try? FileManager.default.removeItem(atPath: home.path)
    }
}

/// The bare C programs in bench/baselines: each prints one JSON line.
enum Baseline {
    static func run(_ executable: String, _ arguments: String...) async throws -> [String: Double] {
        let data = try await Subprocess.output(of: executable, arguments)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BenchError("\(executable) printed no JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}
