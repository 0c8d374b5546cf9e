import AgentOSTesting
import ControlAPI
import ControlServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KernelCore
import StrictJSON
import Testing

/// The control API's routes in this process, through Hummingbird's router test
/// framework: no socket, a kernel of in-process plugins. The process tests
/// (`IntegrationTests`) cover the same API over the real Unix socket.
@Suite struct ControlRoutesTests {
    /// Runs `body` against the control API of a fresh in-process kernel.
    private func withAPI(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let kernel = TestKernel.inProcess()
        let environment = ControlEnvironment(
            version: "test", home: "/nonexistent", pluginsDirectory: nil, readiness: Readiness(watchesPlugins: false), metrics: nil)
        let app = Application(router: ControlRoutes.router(kernel: kernel, environment: environment))
        try await app.test(.router, body)
        await kernel.lifecycle.shutdown(timeout: 5)
    }

    private static func error(_ response: TestResponse) throws -> ErrorBody.Detail {
        try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body)).error
    }

    private static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func versionNamesTheABI() async throws {
        try await withAPI { client in
            try await client.execute(uri: "/v1/version", method: .get) { response in
                #expect(response.status == .ok)
                let info = try ControlJSON.decoder().decode(VersionInfo.self, from: Data(buffer: response.body))
                #expect(info.version == "test" && info.abiMajor == 1)
            }
        }
    }

    @Test func loadSendAndList() async throws {
        try await withAPI { client in
            try await client.execute(uri: "/v1/instances", method: .post, body: Self.json(#"{"path":"echo"}"#)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
            let send = Self.json(#"{"text":"hello","wait":true,"timeout_ms":5000}"#)
            try await client.execute(uri: "/v1/instances/echo/messages", method: .post, body: send) { response in
                #expect(response.status == .ok)
                let reply = try ControlJSON.decoder().decode(SendResponse.self, from: Data(buffer: response.body))
                #expect(reply.reply == "hello")
            }
            try await client.execute(uri: "/v1/instances?all=1", method: .get) { response in
                let list = try InstanceList(json: JSONParser.parse(String(buffer: response.body)))
                #expect(list.instances.map(\.name) == ["echo"] && list.instances.first?.messagesIn == 1)
            }
        }
    }

    /// The list carries what `ps` shows, every key present; one instance's route keeps every detail.
    @Test func listCarriesWhatPsShowsAndTheInstanceRouteTheRest() async throws {
        try await withAPI { client in
            try await client.execute(uri: "/v1/instances", method: .post, body: Self.json(#"{"path":"echo"}"#)) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/v1/instances", method: .get) { response in
                #expect(response.headers[.contentType] == "application/json")
                let row = try #require(try JSONParser.parse(String(buffer: response.body))["instances"]?.asArray?.first)
                #expect(row.asObject?.map(\.key) == [
                    "cpu_seconds", "host", "id", "inference", "isolation", "last_error", "mailbox_depth", "mailbox_limit", "messages_in",
                    "messages_out", "name", "origin", "plugin", "senders_waiting", "state", "uptime_seconds",
                ])
                #expect(row["cpu_seconds"]?.kindName != "null" && row["inference"] == .null && row["last_error"] == .null)
            }
            try await client.execute(uri: "/v1/instances/echo", method: .get) { response in
                let info = try ControlJSON.decoder().decode(InstanceInfo.self, from: Data(buffer: response.body))
                #expect(info.quotas?.isEmpty == false && info.granted != nil && info.pluginName == "echo")
            }
        }
    }

    @Test(arguments: [
        ("/v1/instances?all=2", HTTPRequest.Method.get, "query parameter all=2 should be 0 or 1"),
        ("/v1/instances/echo?timeout_ms=soon", .delete, "query parameter timeout_ms=soon should be an integer in 0...3600000"),
        ("/v1/instances/echo?force=2", .delete, "query parameter force=2 should be an integer in 0...1"),
        ("/v1/instances/echo/logs?tail=-1", .get, "query parameter tail=-1 should be an integer in 0...1000000"),
    ])
    func badQueryIsBadRequestNamingTheParameter(_ uri: String, _ method: HTTPRequest.Method, _ message: String) async throws {
        try await withAPI { client in
            try await client.execute(uri: uri, method: method) { response in
                #expect(response.status == .badRequest)
                let error = try Self.error(response)
                #expect(error == ErrorBody.Detail(code: "bad_request", message: message))
            }
        }
    }

    @Test func unknownInstanceIsNotFound() async throws {
        try await withAPI { client in
            try await client.execute(uri: "/v1/instances/nobody", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try Self.error(response)
                #expect(error == ErrorBody.Detail(code: "not_found", message: "no instance named nobody (see `agentctl ps -a`)"))
            }
        }
    }

    /// (A body declared too long is refused unread: `RequestBodyMemoryTests`, over the socket.)
    @Test func bodyPastTheLimitIsBodyTooLarge() async throws {
        try await withAPI { client in
            let body = ByteBuffer(repeating: UInt8(ascii: " "), count: 7 << 20)
            try await client.execute(uri: "/v1/instances", method: .post, body: body) { response in
                #expect(response.status == .contentTooLarge)
                let error = try Self.error(response)
                #expect(error.code == "body_too_large")
            }
        }
    }

    @Test func malformedBodyIsBadJSON() async throws {
        try await withAPI { client in
            try await client.execute(uri: "/v1/instances", method: .post, body: Self.json(#"{"path":5}"#)) { response in
                #expect(response.status == .badRequest)
                let error = try Self.error(response)
                #expect(error.code == "bad_json")
            }
        }
    }

    @Test(arguments: ["/v1/nope", "/metrics"])
    func unknownRouteIsRouteNotFound(_ uri: String) async throws {
        try await withAPI { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .notFound)
                let error = try Self.error(response)
                #expect(error.code == "route_not_found")
            }
        }
    }
}
