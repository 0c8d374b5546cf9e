import ControlAPI
import Foundation
import KernelCore
import Logging
import Synchronization

/// The external MCP servers registered with `agentctl mcp add`, kept in
/// `$AGENTOS_HOME/mcp-servers.json` (name and command of each) so they are
/// started again with the kernel; each server's stderr goes to
/// `$AGENTOS_HOME/mcp/NAME.log`.
///
/// Thread-safe: `servers` is only touched inside its lock, and the file is
/// rewritten whole (a temporary file, then rename) under the same lock.
public final class MCPServerSet: Sendable {
    private let kernel: Kernel
    private let path: String
    private let logDirectory: String
    private let logger: Logger
    private let servers = Mutex<[String: MCPServer]>([:])

    /// Opens the registrations under `home`. Throws when the file exists but is not one.
    public init(kernel: Kernel, home: AgentOSHome, logger: Logger) throws {
        self.kernel = kernel
        path = home.path + "/mcp-servers.json"
        logDirectory = home.path + "/mcp"
        self.logger = logger
        // A server that exits leaves a pipe nobody reads: writing to it must fail, not kill the kernel.
        signal(SIGPIPE, SIG_IGN)
        guard FileManager.default.fileExists(atPath: path) else { return }
        let stored: [AddMCPServerRequest]
        do {
            stored = try JSONDecoder().decode([AddMCPServerRequest].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw KernelError(.badPolicy, "\(path) is not a list of MCP servers: \(error) (move it away to start with none)")
        }
        servers.withLock { servers in
            for entry in stored { servers[entry.name] = makeServer(entry) }
        }
    }

    /// Starts every registered server in the background (each then supervised).
    public func startAll() {
        for server in servers.withLock({ Array($0.values) }) {
            Task { await server.start() }
        }
    }

    /// Every server, by name.
    public var all: [MCPServerInfo] { servers.withLock { Array($0.values) }.map(\.info).sorted { $0.name < $1.name } }

    /// Registers and starts `request`'s server; it is kept only once it answered
    /// initialize and tools/list. Throws `.badName`, `.nameTaken`, `.invalidArgument`,
    /// `.unreachable` (it did not start: why), `.internal` (the file).
    public func add(_ request: AddMCPServerRequest) async throws(KernelError) -> MCPServerInfo {
        try Self.checkName(request.name)
        guard let program = request.command.first, !program.isEmpty else {
            throw KernelError(.invalidArgument, "give the server's command after --, e.g. agentctl mcp add files -- python3 server.py")
        }
        let server = makeServer(request)
        try servers.withLock { servers throws(KernelError) in
            guard servers[request.name] == nil else {
                throw KernelError(.nameTaken, "an MCP server named \(request.name) is registered (remove it with `agentctl mcp rm \(request.name)`)")
            }
            servers[request.name] = server
        }
        if case .failure(let error) = await server.start() {
            server.stop()
            servers.withLock { _ = $0.removeValue(forKey: request.name) }
            throw error
        }
        do throws(KernelError) {
            try servers.withLock { servers throws(KernelError) in try save(servers) }
        } catch {
            server.stop()
            servers.withLock { _ = $0.removeValue(forKey: request.name) }
            throw error
        }
        return server.info
    }

    /// Stops and forgets server `name`. Throws `.notFound` or `.internal`.
    public func remove(_ name: String) throws(KernelError) -> MCPServerInfo {
        let server = try servers.withLock { servers throws(KernelError) in
            guard let server = servers[name] else { throw KernelError(.notFound, "no MCP server named \(name) (see `agentctl mcp ls`)") }
            var next = servers
            next[name] = nil
            try save(next)
            servers = next
            return server
        }
        server.stop()
        return server.info
    }

    /// Stops every server (the kernel is shutting down); the registrations stay.
    public func stopAll() {
        for server in servers.withLock({ Array($0.values) }) { server.stop() }
    }

    private func makeServer(_ request: AddMCPServerRequest) -> MCPServer {
        try? FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        return MCPServer(
            name: request.name, command: request.command, kernel: kernel, logPath: "\(logDirectory)/\(request.name).log", logger: logger)
    }

    private func save(_ servers: [String: MCPServer]) throws(KernelError) {
        let entries = servers.values.sorted { $0.name < $1.name }.map { AddMCPServerRequest(name: $0.name, command: $0.command) }
        let temporary = path + ".tmp"
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            guard FileManager.default.createFile(atPath: temporary, contents: try encoder.encode(entries)) else {
                throw KernelError(.internal, "cannot write \(temporary)")
            }
            guard rename(temporary, path) == 0 else { throw KernelError(.internal, "cannot rename \(temporary) to \(path): errno \(errno)") }
        } catch let error as KernelError {
            throw error
        } catch {
            throw KernelError(.internal, "cannot save the MCP servers to \(path): \(error)")
        }
    }

    /// A server's name is its tools' prefix: 1 to 64 of `[A-Za-z0-9_-]`.
    static func checkName(_ name: String) throws(KernelError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed else {
            throw KernelError(.badName, "MCP server name \"\(name.prefix(40))\" must be 1 to 64 of A-Z a-z 0-9 _ - (it prefixes its tools: NAME.TOOL)")
        }
    }
}
