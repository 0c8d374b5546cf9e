/// The kernel's copy of a message body. Bodies up to `inlineCapacity` bytes
/// live in the envelope itself, in the mailbox's ring: sending one allocates
/// nothing and the receiver frees nothing (a malloc on the sender's thread
/// freed on the receiver's is the slow path of glibc's allocator). Longer
/// bodies are on the heap.
struct MessageBody: Sendable {
    /// The longest body stored inline.
    static let inlineCapacity = 48

    private typealias InlineBytes = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    private var inline: InlineBytes = (0, 0, 0, 0, 0, 0)
    private var heap: [UInt8]?
    /// Its length in bytes.
    let count: Int

    /// A copy of `bytes`.
    init(copying bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        if count <= Self.inlineCapacity {
            if count > 0 { Swift.withUnsafeMutableBytes(of: &inline) { $0.copyMemory(from: bytes) } }
        } else {
            heap = Array(bytes)
        }
    }

    /// `bytes`, kept as they are when they are too long to go inline.
    init(_ bytes: [UInt8]) {
        if bytes.count <= Self.inlineCapacity {
            self = bytes.withUnsafeBytes { MessageBody(copying: $0) }
        } else {
            count = bytes.count
            heap = bytes
        }
    }

    static let empty = MessageBody([])

    /// Calls `body` with the bytes, valid only during the call.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let heap { return heap.withUnsafeBytes(body) }
        return Swift.withUnsafeBytes(of: inline) { body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }
}
