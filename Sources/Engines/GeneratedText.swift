/// Turns token pieces (raw bytes) into text a caller may see: whole UTF-8
/// characters only, cut before the first stop string.
///
/// Bytes that could still be the start of a stop string, or of a character,
/// are held back until the next piece decides. Not thread-safe: one per sequence.
struct GeneratedText {
    private let stops: [[UInt8]]
    /// Bytes received but not yet released.
    private var pending: [UInt8] = []
    /// True once a stop string matched; later pieces are ignored.
    private(set) var stopped = false

    init(stop: [String]) {
        stops = stop.map { Array($0.utf8) }
    }

    /// Adds `bytes` and returns the text that is now final (possibly empty).
    mutating func append(_ bytes: some Sequence<UInt8>) -> String {
        guard !stopped else { return "" }
        pending.append(contentsOf: bytes)
        if let match = firstStopMatch() {
            stopped = true
            let text = decode(pending[..<match])
            pending.removeAll()
            return text
        }
        let release = min(completeUTF8Prefix(), pending.count - longestStopPrefixSuffix())
        guard release > 0 else { return "" }
        let text = decode(pending[..<release])
        pending.removeFirst(release)
        return text
    }

    /// The text still held back, at the end of generation.
    mutating func flush() -> String {
        defer { pending.removeAll() }
        return stopped ? "" : decode(pending[...])
    }

    private func firstStopMatch() -> Int? {
        stops.compactMap { stop in
            pending.indices.first { start in
                start + stop.count <= pending.count && pending[start..<start + stop.count].elementsEqual(stop)
            }
        }.min()
    }

    /// The length of the longest suffix of `pending` that is a proper prefix of a stop string.
    private func longestStopPrefixSuffix() -> Int {
        var longest = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: longest, by: -1)
            where pending.suffix(length).elementsEqual(stop.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }

    /// The length of the longest prefix of `pending` that does not end inside a UTF-8 character.
    private func completeUTF8Prefix() -> Int {
        var index = pending.count
        var continuation = 0
        while index > 0, continuation < 3, pending[index - 1] & 0xC0 == 0x80 {
            index -= 1
            continuation += 1
        }
        guard index > 0 else { return pending.count }
        let lead = pending[index - 1]
        let needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return needed > continuation + 1 ? index - 1 : pending.count
    }

    /// Decodes bytes, replacing invalid sequences with U+FFFD.
    private func decode(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
