import ControlAPI
import Foundation
import Glibc
import StrictJSON
import Testing

/// External MCP servers reached at a URL (`agentctl mcp add NAME --url URL`):
/// the fixture server of MCPClientTests run with the `mcp` package's
/// Streamable HTTP transport on a free loopback port. Killed, it makes calls
/// fail `unreachable` until it is back and reconnected; its registration
/// survives a kernel restart; a URL that is wrong is refused at `mcp add`.
@Suite(.serialized) struct MCPHTTPClientTests {
    /// The fixture server on `port`, until `kill`. Under `timeout`, so it dies even if the test process does first.
    final class FixtureServer {
        let port: Int
        private let process: Process

        private let scheme: String
        var url: String { "\(scheme)://127.0.0.1:\(port)/mcp" }

        /// `authorization`: the Authorization header it requires (401 without it).
        /// `tls`: PEM certificate and key files to serve https with.
        init(port: Int? = nil, authorization: String? = nil, tls: (cert: String, key: String)? = nil) async throws {
            scheme = tls == nil ? "http" : "https"
            let python = Paths.root.appendingPathComponent(".deps/python-peers/bin/python").path
            try #require(FileManager.default.isExecutableFile(atPath: python), "no \(python): run `make python-peers`")
            self.port = try port ?? ObservabilityTests.freePort()
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = [
                "-s", "KILL", "600", python, Paths.root.appendingPathComponent("Tests/Fixtures/python/mcp_tool_server.py").path,
                "http", "\(self.port)",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["MCP_FIXTURE_AUTHORIZATION"] = authorization
            environment["MCP_FIXTURE_TLS_CERT"] = tls?.cert
            environment["MCP_FIXTURE_TLS_KEY"] = tls?.key
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let url = url
            for _ in 0..<600 where process.isRunning {
                // Any HTTP answer (405 to a GET without a session) means it listens.
                let probe = await onThread {
                    try? CommandResult.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", url])
                }
                if let code = probe?.stdout, code != "000", !code.isEmpty { return }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            kill()
            Issue.record("the fixture MCP server did not listen on \(url)")
            throw CancellationError()
        }

        /// Kills the server (the process group `timeout` leads) and waits for it.
        func kill() {
            Glibc.kill(-process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private func server(_ kernel: KernelProcess, _ name: String) async throws -> MCPServerInfo? {
        try await kernel.client.mcpServers().first { $0.name == name }
    }

    @Test func aURLServersToolsAreKernelTools() async throws {
        let fixture = try await FixtureServer()
        defer { fixture.kill() }
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        let added = try await kernel.agentctlAsync("mcp", "add", "web", "--url", fixture.url, "--header", "X-Test: yes")
        #expect(added.status == 0 && added.stdout.contains("at \(fixture.url)") && added.stdout.contains("web.multiply"), "\(added.stdout) \(added.stderr)")
        #expect(added.stdout.contains("skipped odd.name"), "\(added.stdout)")
        let tools = try await kernel.client.tools(matching: "web.*")
        #expect(tools.map(\.name) == ["web.multiply", "web.weather", "web.fail", "web.hang", "web.sleepy", "web.die"])
        #expect(tools.first?.plugin == "mcp:web")
        let product = try kernel.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#)
        #expect(product.status == 0 && product.stdout == "6\n", "\(product.stdout) \(product.stderr)")
        let weather = try kernel.agentctl("call", "web.weather", #"{"city": "Oslo"}"#)
        #expect(try JSONParser.parse(weather.stdout)["temperature_c"] == .integer(21), "\(weather.stdout)")
        let failed = try kernel.agentctl("call", "web.fail")
        #expect(failed.status == 1 && failed.stderr.contains("web.fail failed"), "\(failed.stderr)")
        // mcp ls shows the URL in place of a command, and no pid.
        let listed = try kernel.agentctl("mcp", "ls")
        #expect(listed.stdout.contains("COMMAND OR URL") && listed.stdout.contains(fixture.url), "\(listed.stdout)")
        let info = try await server(kernel, "web")
        #expect(info?.url == fixture.url && info?.command == [] && info?.pid == nil && info?.state == "running")
        // The headers are kept with the registration.
        let saved = try String(contentsOfFile: kernel.home.path + "/mcp-servers.json", encoding: .utf8)
        #expect(saved.contains(fixture.url) && saved.contains("X-Test"), "\(saved)")
        // An agent's tool_call: the same tool: grants.
        try await kernel.load("toolcaller", grants: ["tool:web.multiply"])
        #expect(try await kernel.ask("toolcaller", #"call web.multiply {"a": 4, "b": 5}"#).hasPrefix("ok|20"))
        #expect(try await kernel.ask("toolcaller", #"call web.weather {"city": "Oslo"}"#).hasPrefix("err|"))
        #expect(try kernel.agentctl("mcp", "rm", "web").status == 0)
        #expect(try await kernel.client.tools(matching: "web.*").isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func aKilledURLServerIsUnreachableUntilItIsBackAndReconnected() async throws {
        var fixture = try await FixtureServer()
        defer { fixture.kill() }
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        #expect(try await kernel.agentctlAsync("mcp", "add", "web", "--url", fixture.url).status == 0)
        fixture.kill()
        // The call finds it gone (or the idle ping did first): unreachable, and the tools stay listed.
        let gone = try kernel.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#)
        #expect(gone.status == 1 && gone.stderr.contains("web"), "\(gone.stderr)")
        #expect(try await kernel.client.tools(matching: "web.*").count == 6)
        #expect(try await kernel.eventually(30) { try await server(kernel, "web")?.state == "restarting" })
        let down = try kernel.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#)
        #expect(down.status == 1 && down.stderr.contains("mcp server web is not running"), "\(down.stderr)")
        #expect(try kernel.agentctl("mcp", "ls").stdout.contains("restarting"))
        fixture = try await FixtureServer(port: fixture.port)
        #expect(try await kernel.eventually(90) { try await server(kernel, "web")?.state == "running" })
        #expect(try await server(kernel, "web").map { $0.restarts >= 1 } == true)
        #expect(try kernel.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
        try await kernel.expectHealthy()
    }

    @Test func aHungURLServerIsDroppedAndReconnectedOnceItAnswers() async throws {
        var fixture = try await FixtureServer()
        defer { fixture.kill() }
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        #expect(try await kernel.agentctlAsync("mcp", "add", "web", "--url", fixture.url).status == 0)
        // hang blocks the server's event loop: the call times out, the ping after it goes unanswered.
        let hung = try await kernel.startAgentctl(["call", "web.hang", "--timeout", "2"]).finish(timeout: 60)
        #expect(hung.status == 1 && hung.stderr.contains("web.hang did not return within 2 s"), "\(hung.stderr)")
        #expect(try await kernel.eventually(60) {
            try await server(kernel, "web")?.lastError?.contains("did not answer a ping within 10.0 seconds after a call of hang timed out") == true
        })
        let down = try kernel.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#)
        #expect(down.status == 1 && down.stderr.contains("mcp server web is not running"), "\(down.stderr)")
        fixture.kill()
        fixture = try await FixtureServer(port: fixture.port)
        #expect(try await kernel.eventually(120) { try await server(kernel, "web")?.state == "running" })
        #expect(try kernel.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
        try await kernel.expectHealthy()
    }

    @Test func aURLRegistrationSurvivesAKernelRestart() async throws {
        let fixture = try await FixtureServer()
        defer { fixture.kill() }
        let first = try await KernelProcess()
        #expect(try await first.agentctlAsync("mcp", "add", "web", "--url", fixture.url).status == 0)
        let root = first.root
        first.signal(SIGTERM)  // not stop(): that removes the home
        _ = await first.waitForExit()
        let second = try await KernelProcess(root: root)
        defer { _ = second.stop() }
        #expect(try await second.eventually(30) { try await server(second, "web")?.state == "running" })
        #expect(try second.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
    }

    /// `${env:NAME}` in a header: resolved from the kernel's environment at each
    /// connect (the server refuses requests without it), stored as written; a
    /// variable that is not set is named, at add and, after a restart, in `mcp ls`.
    @Test func aHeaderSecretComesFromTheKernelsEnvironment() async throws {
        let fixture = try await FixtureServer(authorization: "Bearer s3cret")
        defer { fixture.kill() }
        let first = try await KernelProcess(environment: ["AGENTOS_TEST_MCP_TOKEN": "s3cret"])
        let header = "Authorization: Bearer ${env:AGENTOS_TEST_MCP_TOKEN}"
        let added = try await first.agentctlAsync("mcp", "add", "web", "--url", fixture.url, "--header", header)
        #expect(added.status == 0, "\(added.stdout) \(added.stderr)")
        #expect(try first.agentctl("call", "web.multiply", #"{"a": 2, "b": 3}"#).stdout == "6\n")
        let saved = try String(contentsOfFile: first.home.path + "/mcp-servers.json", encoding: .utf8)
        #expect(saved.contains("${env:AGENTOS_TEST_MCP_TOKEN}") && !saved.contains("s3cret"), "\(saved)")
        // Without the header, the server refuses.
        let bare = try await first.agentctlAsync("mcp", "add", "bare", "--url", fixture.url)
        #expect(bare.status == 1 && bare.stderr.contains("cannot reach \(fixture.url)"), "\(bare.stderr)")
        let unset = try await first.agentctlAsync("mcp", "add", "unset", "--url", fixture.url, "--header", "Authorization: Bearer ${env:AGENTOS_TEST_UNSET}")
        #expect(unset.status == 1 && unset.stderr.contains("header Authorization refers to ${env:AGENTOS_TEST_UNSET}, which is not set in the kernel's environment"), "\(unset.stderr)")
        let malformed = try first.agentctl("mcp", "add", "bad", "--url", fixture.url, "--header", "Authorization: Bearer ${TOKEN}")
        #expect(malformed.status == 1 && malformed.stderr.contains("header Authorization has ${TOKEN}: a reference is ${env:NAME}"), "\(malformed.stderr)")
        let root = first.root
        first.signal(SIGTERM)  // not stop(): that removes the home
        _ = await first.waitForExit()
        // Restarted without the variable: the registration stays, and mcp ls says why it does not connect.
        let second = try await KernelProcess(root: root)
        defer { _ = second.stop() }
        #expect(try await second.eventually(30) {
            try await server(second, "web")?.lastError?.contains("${env:AGENTOS_TEST_MCP_TOKEN}, which is not set") == true
        })
        let listed = try second.agentctl("mcp", "ls")
        #expect(listed.stdout.contains("AGENTOS_TEST_MCP_TOKEN"), "\(listed.stdout)")
        try await second.expectHealthy()
    }

    /// An https endpoint is spoken to over TLS and its certificate checked: one
    /// signed by a CA outside the system's bundle (made here with openssl) is refused
    /// at add with libcurl's reason. (FoundationNetworking on Linux takes no other CA file.)
    @Test func anHTTPSServerWithAnUntrustedCertificateIsRefusedWithTheReason() async throws {
        let folder = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try CommandResult.run(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem",
        ])
        try #require(made.status == 0, "\(made.stderr)")
        let fixture = try await FixtureServer(tls: (folder + "/cert.pem", folder + "/key.pem"))
        defer { fixture.kill() }
        // The server does serve MCP over TLS to a client that trusts its certificate.
        let trusted = try CommandResult.run(URL(fileURLWithPath: "/usr/bin/curl"), [
            "-s", "--cacert", folder + "/cert.pem", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
            "-H", "Accept: application/json, text/event-stream", "-d", "{}", fixture.url,
        ])
        #expect(trusted.stdout == "400", "\(trusted.stdout) \(trusted.stderr)")
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        let refused = try await kernel.agentctlAsync("mcp", "add", "tls", "--url", fixture.url)
        #expect(refused.status == 1 && refused.stderr.contains("cannot reach \(fixture.url): SSL certificate problem"), "\(refused.stderr)")
        #expect(try await kernel.client.mcpServers().isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func wrongURLsAreRefusedAtAddWithTheReason() async throws {
        let fixture = try await FixtureServer()
        defer { fixture.kill() }
        let kernel = try await KernelProcess()
        defer { _ = kernel.stop() }
        let ftp = try kernel.agentctl("mcp", "add", "x", "--url", "ftp://127.0.0.1/mcp")
        #expect(ftp.status == 1 && ftp.stderr.contains("is not an http:// or https:// URL with a host"), "\(ftp.stderr)")
        let noHost = try kernel.agentctl("mcp", "add", "x", "--url", "http:///mcp")
        #expect(noHost.status == 1 && noHost.stderr.contains("is not an http:// or https:// URL with a host"), "\(noHost.stderr)")
        let both = try kernel.agentctl("mcp", "add", "x", "--url", fixture.url, "--", "python3", "server.py")
        #expect(both.status == 2 && both.stderr.contains("not both"), "\(both.stderr)")
        let badHeader = try kernel.agentctl("mcp", "add", "x", "--url", fixture.url, "--header", "no colon")
        #expect(badHeader.status == 2 && badHeader.stderr.contains("is not NAME: VALUE"), "\(badHeader.stderr)")
        let nobody = try await kernel.agentctlAsync("mcp", "add", "x", "--url", "http://127.0.0.1:\(try ObservabilityTests.freePort())/mcp")
        #expect(nobody.status == 1 && nobody.stderr.contains("cannot reach http://127.0.0.1:"), "\(nobody.stderr)")
        let wrongPath = try await kernel.agentctlAsync("mcp", "add", "x", "--url", "http://127.0.0.1:\(fixture.port)/wrong")
        #expect(wrongPath.status == 1 && wrongPath.stderr.contains("cannot reach http://127.0.0.1:\(fixture.port)/wrong"), "\(wrongPath.stderr)")
        #expect(try await kernel.client.mcpServers().isEmpty)
        #expect(try await kernel.agentctlAsync("mcp", "add", "x", "--url", fixture.url).status == 0)
        try await kernel.expectHealthy()
    }
}
