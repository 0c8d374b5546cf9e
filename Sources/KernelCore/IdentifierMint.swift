import Synchronization

/// Mints the ids of messages, requests, inference requests and tool calls:
/// one space, so a reply, an answer's inference and a trace can name each
/// other. Ids start at `first`, which the daemon makes unique across runs.
///
/// An instance's thread takes ids in blocks (`OwnThreadState.ids`), so
/// senders on different cores do not fight over one counter. Thread-safe.
final class IdentifierMint: Sendable {
    /// Ids a thread takes at once.
    static let blockSize: UInt64 = 256
    private let next: Atomic<UInt64>

    init(first: UInt64) {
        next = Atomic(max(first, 1))
    }

    /// The next id the mint will hand out: past every id handed out so far.
    var peek: UInt64 { next.load(ordering: .relaxed) }

    /// One id.
    func mint() -> UInt64 { next.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// `blockSize` consecutive ids.
    func mintBlock() -> Range<UInt64> {
        let first = next.wrappingAdd(Self.blockSize, ordering: .relaxed).oldValue
        return first..<(first + Self.blockSize)
    }
}
