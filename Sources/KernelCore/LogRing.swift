import Foundation

/// One line in an instance's log.
public struct InstanceLogLine: Sendable, Equatable {
    public enum Level: String, Sendable { case debug, info, warn, error }
    public enum Source: String, Sendable { case plugin, kernel }

    public let seq: UInt64
    public let time: Date
    public let level: Level
    public let source: Source
    public let text: String
}

/// A bounded ring of an instance's log lines (its `log` syscall and kernel
/// events about it), with live followers for `agentctl logs -f`.
///
/// The oldest lines are dropped past `capacity`. Thread-safe.
public final class LogRing: @unchecked Sendable {
    public let capacity: Int
    private let lock = ConditionLock()
    private var lines: [InstanceLogLine] = []
    private var start = 0
    private var nextSeq: UInt64 = 1
    private var followers: [UInt64: AsyncStream<InstanceLogLine>.Continuation] = [:]
    private var nextFollower: UInt64 = 0
    private var finished = false

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        lines.reserveCapacity(min(self.capacity, 64))
    }

    /// Appends a line and hands it to every follower.
    public func append(_ level: InstanceLogLine.Level, _ source: InstanceLogLine.Source, _ text: String) {
        lock.withLock {
            let line = InstanceLogLine(seq: nextSeq, time: Date(), level: level, source: source, text: text)
            nextSeq += 1
            if lines.count < capacity {
                lines.append(line)
            } else {
                lines[start] = line
                start = (start + 1) % capacity
            }
            for follower in followers.values { follower.yield(line) }
        }
    }

    /// The newest `count` lines (all kept lines when nil), oldest first.
    public func tail(_ count: Int? = nil) -> [InstanceLogLine] {
        lock.withLock { snapshot(count) }
    }

    /// The newest `count` lines, then every line appended later, until `finish()`.
    public func follow(tail count: Int?) -> AsyncStream<InstanceLogLine> {
        let (stream, continuation) = AsyncStream.makeStream(of: InstanceLogLine.self, bufferingPolicy: .bufferingNewest(capacity))
        lock.withLock {
            for line in snapshot(count) { continuation.yield(line) }
            if finished {
                continuation.finish()
                return
            }
            let id = nextFollower
            nextFollower += 1
            followers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                self?.lock.withLock { _ = self?.followers.removeValue(forKey: id) }
            }
        }
        return stream
    }

    /// Ends every follow stream; later followers get the kept lines and end at once.
    public func finish() {
        let ended = lock.withLock {
            finished = true
            defer { followers.removeAll() }
            return Array(followers.values)
        }
        for follower in ended { follower.finish() }
    }

    private func snapshot(_ count: Int?) -> [InstanceLogLine] {
        let ordered = Array(lines[start...] + lines[..<start])
        guard let count, count < ordered.count else { return ordered }
        return Array(ordered.suffix(max(0, count)))
    }
}
