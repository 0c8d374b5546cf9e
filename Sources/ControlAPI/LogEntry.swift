import Foundation

/// One line of an instance's log: from its `log` syscall or a kernel event about it.
///
/// `GET /v1/instances/NAME/logs` answers with these as JSON Lines
/// (`application/x-ndjson`), one object per line.
public struct LogEntry: Codable, Sendable, Equatable {
    /// Increases by one per line of this instance.
    public var seq: UInt64
    public var time: Date
    /// debug, info, warn or error.
    public var level: String
    /// "plugin" for the `log` syscall, "kernel" for events (loaded, hung, unloaded...).
    public var source: String
    public var text: String

    public init(seq: UInt64, time: Date, level: String, source: String, text: String) {
        self.seq = seq
        self.time = time
        self.level = level
        self.source = source
        self.text = text
    }
}
