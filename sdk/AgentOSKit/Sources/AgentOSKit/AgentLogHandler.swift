import CAgentOSKit
import Logging

/// A swift-log `LogHandler` that writes to the instance's log (`agentctl logs
/// NAME`), so `context.logger` works like any `Logger`. Metadata follows the
/// message as `key=value`. Thread: any (the log syscall is).
public struct AgentLogHandler: LogHandler {
    private let context: Context
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(context: Context) { self.context = context }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let suffix = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { ": \($0)" } ?? ""
        context.log(Self.level(event.level), "\(event.message)\(error)\(suffix)")
    }

    private static func level(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace, .debug: .debug
        case .info, .notice: .info
        case .warning: .warn
        case .error, .critical: .error
        }
    }
}

extension Context {
    /// A `Logger` writing to this instance's log through `AgentLogHandler`.
    public var logger: Logger {
        Logger(label: "agentos") { _ in AgentLogHandler(context: self) }
    }
}
