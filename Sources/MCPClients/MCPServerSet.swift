import ControlAPI
import Foundation
import KernelCore
import Logging
import ServiceLifecycle
import Synchronization

/// The external MCP servers registered with `agentctl mcp add`, kept in
/// `$AGENTOS_HOME/mcp-servers.json` (name and command, or URL and headers, of
/// each; a header's `${env:NAME}` is kept as written, see `HeaderReferences`) so they are started again with the kernel; a stdio server's stderr
/// goes to `$AGENTOS_HOME/mcp/NAME.log`. As a service of the kernel's group it
/// starts them when the kernel runs and stops them (waiting for their
/// processes to end) when it shuts down.
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
        var restored: [String: MCPServer] = [:]
        for entry in stored {
            guard let server = try? makeServer(entry) else {
                throw KernelError(.badPolicy, "\(path): the MCP server \(entry.name) has neither a command nor a valid URL (move the file away to start with none)")
            }
            restored[entry.name] = server
        }
        servers.withLock { $0 = restored }
    }

    /// Starts every registered server in the background, each then supervised
    /// (one that does not start is tried again, with backoff).
    func startAll() {
        for server in servers.withLock({ Array($0.values) }) {
            Task { await server.start(keepTrying: true) }
        }
    }

    /// Every server, by name.
    public var all: [MCPServerInfo] { servers.withLock { Array($0.values) }.map(\.info).sorted { $0.name < $1.name } }

    /// Registers and starts `request`'s server; it is kept only once it answered
    /// initialize and tools/list. Throws `.badName`, `.nameTaken`, `.invalidArgument`,
    /// `.unreachable` (it did not start: why), `.internal` (the file).
    public func add(_ request: AddMCPServerRequest) async throws(KernelError) -> MCPServerInfo {
        try Self.checkName(request.name)
        let server = try makeServer(request)
        try servers.withLock { servers throws(KernelError) in
            guard servers[request.name] == nil else {
                throw KernelError(.nameTaken, "an MCP server named \(request.name) is registered (remove it with `agentctl mcp rm \(request.name)`)")
            }
            servers[request.name] = server
        }
        if case .failure(let error) = await server.start(keepTrying: false) {
            await server.stop()
            servers.withLock { _ = $0.removeValue(forKey: request.name) }
            throw error
        }
        do throws(KernelError) {
            try servers.withLock { servers throws(KernelError) in try save(servers) }
        } catch {
            await server.stop()
            servers.withLock { _ = $0.removeValue(forKey: request.name) }
            throw error
        }
        return server.info
    }

    /// Stops and forgets server `name`. Throws `.notFound` or `.internal`.
    public func remove(_ name: String) async throws(KernelError) -> MCPServerInfo {
        let server = try servers.withLock { servers throws(KernelError) in
            guard let server = servers[name] else { throw KernelError(.notFound, "no MCP server named \(name) (see `agentctl mcp ls`)") }
            var next = servers
            next[name] = nil
            try save(next)
            servers = next
            return server
        }
        await server.stop()
        return server.info
    }

    /// Stops every server, all at once, and returns when their processes are
    /// gone (the kernel is shutting down); the registrations stay.
    func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for server in servers.withLock({ Array($0.values) }) { group.addTask { await server.stop() } }
        }
    }

    /// The server `request` registers: a command, or a URL with headers. Throws `.invalidArgument` for neither or both, a bad URL or header.
    private func makeServer(_ request: AddMCPServerRequest) throws(KernelError) -> MCPServer {
        var endpoint: URL?
        if let url = request.url {
            guard request.command.isEmpty else {
                throw KernelError(.invalidArgument, "give the server's command after -- or its --url, not both")
            }
            endpoint = try Self.checkURL(url)
            for (field, value) in request.headers ?? [:] {
                try Self.checkHeader(field, value)
                try HeaderReferences.check(field, value)
            }
        } else {
            guard let program = request.command.first, !program.isEmpty else {
                throw KernelError(.invalidArgument, "give the server's command after -- or its --url, e.g. agentctl mcp add files -- python3 server.py")
            }
        }
        try? FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        return MCPServer(request, endpoint: endpoint, kernel: kernel, logPath: "\(logDirectory)/\(request.name).log", logger: logger)
    }

    /// A Streamable HTTP server's endpoint: an http or https URL with a host.
    static func checkURL(_ text: String) throws(KernelError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            throw KernelError(.invalidArgument, "MCP server URL \"\(text.prefix(200))\" is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8000/mcp)")
        }
        return url
    }

    /// A header sent to a URL server: a token name, a value without line breaks.
    static func checkHeader(_ field: String, _ value: String) throws(KernelError) {
        let token = Set("!#$%&'*+-.^_`|~".utf8)
        let fieldOK = !field.isEmpty && field.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || token.contains(byte)
        }
        guard fieldOK, !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
            throw KernelError(.invalidArgument, "header \"\(field.prefix(64))\" is not NAME: VALUE with a token NAME and a one-line VALUE")
        }
    }

    private func save(_ servers: [String: MCPServer]) throws(KernelError) {
        let entries = servers.values.map(\.registration).sorted { $0.name < $1.name }
        let temporary = path + ".tmp"
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
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

extension MCPServerSet: Service {
    /// Starts the registered servers, waits for the kernel's shutdown, then stops them.
    public func run() async throws {
        startAll()
        try? await gracefulShutdown()
        await stopAll()
    }
}
