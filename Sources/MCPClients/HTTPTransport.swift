import Foundation
import Logging
import MCP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// MCP's Streamable HTTP transport to a server at a URL: swift-sdk's
/// `HTTPClientTransport`, with two things added.
///
/// - A reply sent as an SSE stream (`text/event-stream`, what most servers
///   answer a POST with) reaches the client as its JSON-RPC messages: on Linux
///   `HTTPClientTransport` hands the whole stream on as one message, which the
///   client cannot read.
/// - An HTTP exchange that fails (no connection, a status that is not 2xx)
///   is reported once to `failed`, so the session can be ended and reconnected.
///
/// Deadlines are the caller's (`MCPServer`): requests themselves never time out.
actor HTTPTransport: Transport {
    nonisolated let logger: Logger
    private let http: HTTPClientTransport
    private let failed: @Sendable (String) -> Void
    private let stream: AsyncThrowingStream<Data, Swift.Error>
    private let continuation: AsyncThrowingStream<Data, Swift.Error>.Continuation
    private var pump: Task<Void, Never>?
    /// The first failed exchange's error, if one failed.
    private(set) var failure: String?

    init(endpoint: URL, headers: [String: String], logger: Logger, failed: @escaping @Sendable (String) -> Void) {
        let configuration = URLSessionConfiguration.default
        configuration.timeoutIntervalForRequest = 7 * 24 * 3600
        http = HTTPClientTransport(
            endpoint: endpoint, configuration: configuration, streaming: false,
            requestModifier: { request in
                var request = request
                for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
                return request
            })  // its own log (a warning for each 202 a notification gets) stays quiet
        self.logger = logger
        self.failed = failed
        (stream, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        guard pump == nil else { return }
        try await http.connect()
        let source = await http.receive()
        let continuation = continuation
        pump = Task {
            do {
                for try await data in source {
                    for message in Self.messages(in: data) { continuation.yield(message) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    func disconnect() async {
        await http.disconnect()
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        do {
            try await http.send(data)
        } catch {
            let description = MCPSession.describe(error)
            if failure == nil {
                failure = description
                failed(description)
            }
            throw error
        }
    }

    nonisolated func receive() -> AsyncThrowingStream<Data, Swift.Error> { stream }

    /// Sends the protocol version initialize agreed on in later requests' MCP-Protocol-Version header.
    func negotiated(_ version: String) async {
        await http.updateNegotiatedProtocolVersion(version)
    }

    /// The JSON-RPC messages in one response body: the body itself when it is
    /// JSON, else the `data` of each event of the SSE stream it is (empty ones left out).
    static func messages(in body: Data) -> [Data] {
        guard let first = body.first(where: { !Set(" \t\r\n".utf8).contains($0) }) else { return [] }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return [body] }
        var messages: [Data] = []
        var lines: [Substring] = []
        let text = String(decoding: body, as: UTF8.self)
        // SSE lines end in LF, CRLF or CR ("\r\n" is one Character to Swift).
        let textLines: [Substring] = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for line in textLines + [""] {
            if line.isEmpty {
                let data = lines.joined(separator: "\n")
                if !data.isEmpty { messages.append(Data(data.utf8)) }  // an empty one primes resumption
                lines = []
            } else if line.hasPrefix("data:") {
                let value = line.dropFirst(5)
                lines.append(value.hasPrefix(" ") ? value.dropFirst() : value)
            }
        }
        return messages
    }
}
