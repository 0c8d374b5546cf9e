import Foundation
import Logging
import MCP

/// MCP's stdio framing (one JSON-RPC message per line) over the pipes of a
/// server process the kernel started.
///
/// A thread of its own blocks reading the server's stdout, so a reply is seen
/// at once (no polling). End of file, or a line longer than `maxLineBytes`,
/// ends the stream with an error, which ends swift-sdk's `Client` loop.
actor PipeTransport: Transport {
    nonisolated let logger: Logger
    private let reading: FileHandle
    private let writing: FileHandle
    private let stream: AsyncThrowingStream<Data, Swift.Error>
    private let continuation: AsyncThrowingStream<Data, Swift.Error>.Continuation
    private var reader: Thread?

    /// The longest message accepted from a server.
    static let maxLineBytes = 16 << 20

    /// `reading`: the server's stdout; `writing`: its stdin. The transport closes `writing` on disconnect.
    init(reading: FileHandle, writing: FileHandle, logger: Logger) {
        self.reading = reading
        self.writing = writing
        self.logger = logger
        (stream, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        guard reader == nil else { return }
        let reading = reading
        let continuation = continuation
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty {
                    continuation.finish(throwing: MCPError.connectionClosed)
                    return
                }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[(newline + 1)...])
                    if !line.isEmpty { continuation.yield(Data(line)) }
                }
                if pending.count > Self.maxLineBytes {
                    continuation.finish(throwing: MCPError.parseError("a message longer than \(Self.maxLineBytes) bytes"))
                    return
                }
            }
        }
        thread.name = "mcp-client-read"
        thread.start()
        reader = thread
    }

    func disconnect() async {
        continuation.finish()
        try? writing.close()
    }

    func send(_ data: Data) async throws {
        var line = data
        line.append(UInt8(ascii: "\n"))
        do { try writing.write(contentsOf: line) } catch { throw MCPError.connectionClosed }
    }

    nonisolated func receive() -> AsyncThrowingStream<Data, Swift.Error> { stream }
}
