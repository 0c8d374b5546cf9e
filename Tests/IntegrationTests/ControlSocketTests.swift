import ControlAPI
import Foundation
import Testing

/// The control socket under bad HTTP input: malformed and oversize bodies,
/// unknown routes, bad queries, and clients that connect and then stall.
/// Every error is `{"error":{"code","message"}}` with a fitting status.
@Suite(.serialized) struct ControlSocketTests {
    // MARK: Bodies

    @Test func malformedJSONIsBadJSON() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let response = try await kernel.client.raw(.POST, "/v1/instances", body: Data("{not json".utf8))
        let message = try expectError(response, status: 400, code: "bad_json")
        #expect(message == "body is not a valid LoadRequest: malformed JSON")
        try await kernel.expectHealthy()
    }

    @Test func loadRequestWithoutPathIsBadJSONNamingTheField() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let response = try await kernel.client.raw(.POST, "/v1/instances", body: Data("{}".utf8))
        let message = try expectError(response, status: 400, code: "bad_json")
        #expect(message == "body is not a valid LoadRequest: missing field \"path\"")
        try await kernel.expectHealthy()
    }

    @Test func loadRequestWithAFieldOfTheWrongTypeIsBadJSON() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let response = try await kernel.client.raw(.POST, "/v1/instances", body: Data(#"{"path":5}"#.utf8))
        let message = try expectError(response, status: 400, code: "bad_json")
        #expect(message.contains("field \"path\" should be String"), "\(message)")
        try await kernel.expectHealthy()
    }

    @Test func malformedMessageIsBadJSON() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let response = try await kernel.client.raw(.POST, "/v1/instances/echo/messages", body: Data("hello".utf8))
        let message = try expectError(response, status: 400, code: "bad_json")
        #expect(message == "body is not a valid SendRequest: malformed JSON")
        #expect(try await kernel.client.instance("echo").messagesIn == 0)
        try await kernel.expectHealthy()
    }

    @Test func oversizeLoadBodyIsBodyTooLarge() async throws {
        let kernel = try await KernelProcess(["--max-message-bytes", "1024"])
        defer { kernel.stop() }
        let body = Data(#"{"path":""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: 100 * 1024) + Data(#""}"#.utf8)
        let response = try await kernel.client.raw(.POST, "/v1/instances", body: body)
        _ = try expectError(response, status: 413, code: "body_too_large")
        try await kernel.expectHealthy()
    }

    @Test func oversizeMessageBodyIsBodyTooLarge() async throws {
        let kernel = try await KernelProcess(["--max-message-bytes", "1024"])
        defer { kernel.stop() }
        try await kernel.load("echo")
        let body = Data(#"{"text":""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: 100 * 1024) + Data(#""}"#.utf8)
        let response = try await kernel.client.raw(.POST, "/v1/instances/echo/messages", body: body)
        _ = try expectError(response, status: 413, code: "body_too_large")
        #expect(try await kernel.client.instance("echo").messagesIn == 0)
        try await kernel.expectHealthy()
    }

    // MARK: Routes and queries

    @Test(arguments: ["/v1/nope", "/", "/v2/instances", "/v1/instances/echo/nope"])
    func unknownRouteIsRouteNotFound(_ path: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try expectError(try await kernel.client.raw(.GET, path), status: 404, code: "route_not_found")
        #expect(message == "no route GET \(path) (see `agentctl --help`)")
        try await kernel.expectHealthy()
    }

    /// A known path with a method it does not take is answered like an unknown route.
    @Test func wrongMethodOnAKnownPathIsRouteNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try expectError(try await kernel.client.raw(.PUT, "/v1/instances"), status: 404, code: "route_not_found")
        _ = try expectError(try await kernel.client.raw(.DELETE, "/v1/status"), status: 404, code: "route_not_found")
        try await kernel.expectHealthy()
    }

    @Test func unknownInstanceIsNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let info = try expectError(try await kernel.client.raw(.GET, "/v1/instances/ghost"), status: 404, code: "not_found")
        #expect(info == "no instance named ghost (see `agentctl ps -a`)")
        let logs = try expectError(try await kernel.client.raw(.GET, "/v1/instances/ghost/logs"), status: 404, code: "not_found")
        #expect(logs == info)
        try await kernel.expectHealthy()
    }

    @Test(arguments: ["/v1/instances?all=maybe", "/v1/instances/echo/logs?tail=many", "/v1/instances/echo/logs?tail=-1", "/v1/instances/echo/logs?follow=2"])
    func badQueryParameterIsBadRequest(_ path: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let message = try expectError(try await kernel.client.raw(.GET, path), status: 400, code: "bad_request")
        #expect(message.hasPrefix("query parameter "), "\(message)")
        try await kernel.expectHealthy()
    }

    @Test func badUnloadTimeoutIsBadRequestAndUnloadsNothing() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        for query in ["timeout_ms=-1", "timeout_ms=soon", "timeout_ms=3600001"] {
            let message = try expectError(try await kernel.client.raw(.DELETE, "/v1/instances/echo?\(query)"), status: 400, code: "bad_request")
            #expect(message.hasPrefix("query parameter timeout_ms="), "\(message)")
        }
        #expect(try await kernel.ask("echo", "still loaded") == "still loaded")
    }

    // MARK: Stalled clients

    @Test func silentClientsDoNotBlockOtherRequests() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let silent = try (0..<8).map { _ in try RawUnixSocket(path: kernel.home.socketPath) }
        try await kernel.load("echo")
        #expect(try await kernel.ask("echo", "past the silent ones") == "past the silent ones")
        #expect(try await kernel.client.status().instances["running"] == 1)
        try await kernel.expectHealthy()
        withExtendedLifetime(silent) {}
    }

    @Test func halfSentRequestsDoNotBlockOtherRequests() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let halfHeaders = try RawUnixSocket(path: kernel.home.socketPath)
        try halfHeaders.send("GET /v1/sta")
        let halfBody = try RawUnixSocket(path: kernel.home.socketPath)
        try halfBody.send("POST /v1/instances HTTP/1.1\r\nHost: agentosd\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa")
        try await kernel.load("echo")
        #expect(try await kernel.ask("echo", "past the stalled ones") == "past the stalled ones")
        try await kernel.expectHealthy()
        withExtendedLifetime((halfHeaders, halfBody)) {}
    }

    @Test func kernelStopsOnSIGTERMWhileAClientSitsSilent() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let silent = try RawUnixSocket(path: kernel.home.socketPath)
        let halfHeaders = try RawUnixSocket(path: kernel.home.socketPath)
        try halfHeaders.send("GET /v1/sta")
        try await expectStopsOnSIGTERM(kernel)
        withExtendedLifetime((silent, halfHeaders)) {}
    }

    /// A client that sent the headers of a request and part of its body must not
    /// keep the kernel from shutting down (until it goes away or times out).
    @Test func kernelStopsOnSIGTERMWhileAClientHoldsAHalfSentBody() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let halfBody = try RawUnixSocket(path: kernel.home.socketPath)
        try halfBody.send("POST /v1/instances HTTP/1.1\r\nHost: agentosd\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa")
        // The request has reached its handler, which waits for the rest of the body.
        #expect(try await kernel.eventually {
            try await ObservabilityTests.scrape(kernel)[#"http_server_active_requests{http_request_method="POST"}"#] == 1
        })
        try await expectStopsOnSIGTERM(kernel)
        withExtendedLifetime(halfBody) {}
    }

    // MARK: The socket itself

    @Test func socketIsOwnerOnly() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let socket = try FileManager.default.attributesOfItem(atPath: kernel.home.socketPath)
        #expect(socket[.type] as? FileAttributeType == .typeSocket)
        #expect((socket[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let home = try FileManager.default.attributesOfItem(atPath: kernel.home.path)
        #expect((home[.posixPermissions] as? NSNumber)?.intValue == 0o700)
    }

    @Test func plainHTTPRequestOnTheSocketIsAnsweredWithJSON() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let connection = try RawUnixSocket(path: kernel.home.socketPath)
        try connection.send("GET /v1/version HTTP/1.1\r\nHost: agentosd\r\nConnection: close\r\n\r\n")
        let answer = await onThread { String(decoding: connection.readAll(timeout: 10), as: UTF8.self) }
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        #expect(answer.lowercased().contains("content-type: application/json"), "\(answer)")
        #expect(answer.contains(#""abi_major":1"#), "\(answer)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
    func curlSpeaksToTheSocket() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let curl = try await BackgroundCommand(
            URL(fileURLWithPath: "/usr/bin/curl"),
            ["-s", "--unix-socket", kernel.home.socketPath, "http://localhost/v1/instances/ghost", "-w", "\n%{http_code}"]
        ).finish(timeout: 30)
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(curl.stdout.hasSuffix("\n404"), "\(curl.stdout)")
        #expect(curl.stdout.hasPrefix(#"{"error":{"code":"not_found","message":"#), "\(curl.stdout)")
    }

    // MARK: Helpers

    /// Checks `response` is the JSON error `code` with HTTP `status`; returns its message.
    private func expectError(
        _ response: (status: Int, body: Data), status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == status, "\(text)", sourceLocation: sourceLocation)
        let error = try #require(try? ControlJSON.decoder().decode(ErrorBody.self, from: response.body), "\(text)", sourceLocation: sourceLocation)
        #expect(error.error.code == code, "\(text)", sourceLocation: sourceLocation)
        return error.error.message
    }

    /// SIGTERM; the kernel must exit 0 within a generous bound (it is killed after it).
    private func expectStopsOnSIGTERM(_ kernel: KernelProcess, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        kernel.signal(SIGTERM)
        let exited = try await kernel.eventually(10) { !kernel.process.isRunning }
        #expect(exited, "agentosd still runs 10 s after SIGTERM", sourceLocation: sourceLocation)
        if !exited { kernel.signal(SIGKILL) }
        #expect(await kernel.waitForExit() == 0 || !exited, "\(kernel.log())", sourceLocation: sourceLocation)
    }
}
