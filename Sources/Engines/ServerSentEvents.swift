/// An incremental parser of server-sent events: the `text/event-stream`
/// format OpenAI-compatible servers stream completions in.
///
/// Feed it bytes as they arrive, split anywhere (mid-line, mid-character);
/// it returns every event they complete. Lines end in LF, CRLF or CR; `:`
/// lines are comments (keep-alive pings); the `data:` lines of one event are
/// joined with "\n"; other fields (`event:`, `id:`, `retry:`) are ignored, as
/// chat-completion streams do not use them. Not thread-safe: one per stream.
struct ServerSentEvents {
    enum Event: Equatable {
        /// The data of one event.
        case message(String)
        /// `data: [DONE]`: OpenAI's end of stream.
        case done
    }

    private var line: [UInt8] = []
    private var data: [String] = []
    private var lastWasCR = false
    private var atStart = true

    /// Adds `bytes`; returns the events they complete, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCR {  // the LF of a CRLF
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    /// Bytes held of a line not yet ended, so a caller can refuse a stream that never ends one.
    var pendingBytes: Int { line.count }

    /// Takes the line just ended; a blank line dispatches the event gathered so far.
    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {  // a UTF-8 byte order mark may open the stream
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        guard !line.isEmpty else {
            guard !data.isEmpty else { return nil }
            let joined = data.joined(separator: "\n")
            data.removeAll()
            return joined == "[DONE]" ? .done : .message(joined)
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard colon > 0, line[..<colon].elementsEqual("data".utf8) else { return nil }  // a comment or another field
        var value = line[colon...].dropFirst()
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        data.append(String(decoding: value, as: UTF8.self))
        return nil
    }
}
