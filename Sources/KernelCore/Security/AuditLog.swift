import Foundation
import Synchronization

/// One line of the audit log.
public struct AuditRecord: Codable, Sendable, Equatable {
    public enum Decision: String, Codable, Sendable {
        /// A syscall or connection refused: a capability not held, a quota exhausted, a peer not allowed.
        case deny
        /// An operator granted a capability.
        case grant
        /// An operator revoked a capability.
        case revoke
        /// A process-mode instance's host died (the reason says how: signal, address, symbol).
        case crash
    }

    public var time: Date
    /// The instance concerned; nil for a control-socket peer.
    public var agent: String?
    /// What was attempted: a syscall ("send", "tool_call", "infer"), "tool_loop", "connect", or "agentctl".
    public var syscall: String
    /// The capability checked, granted or revoked ("tool:admin.refund").
    public var capability: String?
    /// The quota exhausted ("tokens_per_minute").
    public var quota: String?
    public var decision: Decision
    public var reason: String
    /// Identical denials left out just before this one (see `AuditLog`).
    public var repeated: Int?

    public init(
        time: Date = Date(), agent: String?, syscall: String, capability: String? = nil, quota: String? = nil,
        decision: Decision, reason: String
    ) {
        self.time = time
        self.agent = agent
        self.syscall = syscall
        self.capability = capability
        self.quota = quota
        self.decision = decision
        self.reason = reason
    }
}

/// The append-only audit log: JSON Lines in a sink (`AuditFile` in
/// KernelPOSIX), one line per record. Records are appended in order on a
/// serial queue, so a syscall never waits for the disk.
///
/// A loop that is denied the same thing over and over does not flood the
/// log: an identical denial (agent, syscall, capability, quota, reason) within a
/// second of the last one written is only counted, and the next one written
/// carries the count in `repeated` (`flush` writes pending counts).
/// Thread-safe.
public final class AuditLog: Sendable {
    private let sink: any AuditSink
    private let queue = DispatchQueue(label: "agentos.audit")
    private let lastWritten = Mutex<[String: (at: UInt64, suppressed: Int, record: AuditRecord)]>([:])
    static let coalescingNanos: UInt64 = 1_000_000_000

    /// A log that appends its lines to `sink`, after what the sink already holds.
    public init(sink: any AuditSink) {
        self.sink = sink
    }

    /// Appends `record` (or counts it, when it repeats a denial written under a second ago).
    public func record(_ record: AuditRecord, now: UInt64 = monotonicNanos()) {
        var record = record
        if record.decision == .deny {
            let key = [record.agent ?? "", record.syscall, record.capability ?? "", record.quota ?? "", record.reason]
                .joined(separator: "\u{1F}")
            let suppressed: Int? = lastWritten.withLock { last in
                if let previous = last[key], now &- previous.at < Self.coalescingNanos {
                    last[key]!.suppressed += 1
                    return nil
                }
                let count = last[key]?.suppressed ?? 0
                last[key] = (now, 0, record)
                if last.count > 4096 { last = last.filter { now &- $0.value.at < Self.coalescingNanos } }
                return count
            }
            guard let suppressed else { return }
            if suppressed > 0 { record.repeated = suppressed }
        }
        write(record)
    }

    /// Writes the counts of denials left out since their last record, then
    /// waits until everything recorded so far is in the sink.
    public func flush() {
        let pending: [AuditRecord] = lastWritten.withLock { last in
            var pending: [AuditRecord] = []
            for (key, entry) in last where entry.suppressed > 0 {
                var record = entry.record
                record.time = Date()
                record.repeated = entry.suppressed
                record.reason = "repeated: " + record.reason
                pending.append(record)
                last[key]!.suppressed = 0
            }
            return pending
        }
        for record in pending { write(record) }
        queue.sync {}
    }

    /// The records in the sink, oldest first: only `agent`'s when given, only
    /// those at or after `since` when given, at most the last `limit`.
    /// Lines that are not records (a torn write, a hand edit) are skipped.
    public func records(agent: String? = nil, since: Date? = nil, limit: Int = 10_000) -> [AuditRecord] {
        flush()
        guard let data = sink.contents() else { return [] }
        let decoder = Self.decoder
        var records: [AuditRecord] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let record = try? decoder.decode(AuditRecord.self, from: line) else { continue }
            if let agent, record.agent != agent { continue }
            if let since, record.time < since { continue }
            records.append(record)
        }
        return Array(records.suffix(limit))
    }

    private func write(_ record: AuditRecord) {
        guard var encoded = try? Self.encoder.encode(record) else { return }
        encoded.append(UInt8(ascii: "\n"))
        let line = encoded
        queue.async { [sink] in sink.append(line) }
    }

    /// "2026-11-25T10:45:55.123Z".
    static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(timeStyle))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = (try? timeStyle.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time: \(text)"))
            }
            return date
        }
        return decoder
    }()
}
