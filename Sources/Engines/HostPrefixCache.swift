import CLlama

/// The prefix cache's second tier: KV state that no slot holds any more,
/// kept in host memory within a byte budget (`--kv-cache-budget`), so a
/// prompt that starts like one served before many other requests restores
/// it into a slot (`llama_state_seq_set_data`, a copy of a few milliseconds)
/// instead of computing it again (seconds for a long chat).
///
/// A slot's state is saved here when a new prompt is about to overwrite at
/// least `minimumSave` tokens of it that nothing else holds. Entries are
/// whole sequences (llama.cpp saves a sequence's cells, not a range), found
/// by longest common prefix with a linear scan: there are at most a few
/// hundred entries of thousands of tokens, so a radix tree would save
/// microseconds on a path that then copies megabytes. An entry that is a
/// prefix of a new one is dropped for it. The least recently used entries
/// go first when the budget is short; paused sequences (`pin`) share the
/// budget and are never evicted. A full cache evicts, never fails a request.
///
/// Value type, confined to the engine thread.
struct HostPrefixCache {
    /// A saved sequence: its tokens by position and llama.cpp's serialized state.
    struct Entry {
        /// Unique for the cache's lifetime.
        let id: UInt64
        let tokens: [llama_token]
        let state: [UInt8]
        var lastUse: UInt64
    }

    /// A new prompt overwriting fewer tokens than this keeps nothing here: computing them is cheap.
    static let minimumSave = 64

    /// Bytes the entries and the pinned states may hold together.
    let budget: Int
    private(set) var entries: [Entry] = []
    /// Bytes of entries plus pinned states.
    private(set) var bytes = 0
    /// Bytes of paused sequences' states, which are not evictable.
    private(set) var pinnedBytes = 0
    private(set) var evictions: UInt64 = 0
    private var useClock: UInt64 = 0

    init(budget: Int) {
        precondition(budget >= 0)
        self.budget = budget
    }

    /// The entry sharing the longest prefix with `prompt`, and how many of its
    /// tokens a request can reuse (never the prompt's last one); nil for none.
    func longestPrefix(of prompt: [llama_token]) -> (index: Int, reusable: Int)? {
        var best: (index: Int, reusable: Int)?
        for (index, entry) in entries.enumerated() {
            let reusable = min(SlotPrefixes.commonPrefix(prompt, entry.tokens), prompt.count - 1)
            if reusable > (best?.reusable ?? 0) { best = (index, reusable) }
        }
        return best
    }

    /// Whether some entry starts with all of `tokens`.
    func covers(_ tokens: [llama_token]) -> Bool {
        entries.contains { $0.tokens.starts(with: tokens) }
    }

    /// Marks entry `id` as just used, if it is still kept.
    mutating func touch(_ id: UInt64) {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return }
        useClock += 1
        entries[index].lastUse = useClock
    }

    /// Keeps `state`, the KV of `tokens`, in place of entries that are
    /// prefixes of it, evicting the least recently used to make room.
    /// Returns false, keeping nothing, when it cannot fit even in an empty cache.
    @discardableResult
    mutating func insert(tokens: [llama_token], state: [UInt8]) -> Bool {
        guard state.count <= budget - pinnedBytes else { return false }
        entries.removeAll { entry in
            let isPrefix = tokens.starts(with: entry.tokens)
            if isPrefix { bytes -= entry.state.count }
            return isPrefix
        }
        makeRoom(for: state.count)
        useClock += 1
        entries.append(Entry(id: useClock, tokens: tokens, state: state, lastUse: useClock))
        bytes += state.count
        return true
    }

    /// Reserves `count` bytes for a paused sequence's state, evicting entries
    /// as needed. Returns false, reserving nothing, when they cannot fit.
    mutating func pin(_ count: Int) -> Bool {
        guard count <= budget - pinnedBytes else { return false }
        makeRoom(for: count)
        pinnedBytes += count
        bytes += count
        return true
    }

    /// Gives back `count` bytes a paused sequence held.
    mutating func unpin(_ count: Int) {
        pinnedBytes -= count
        bytes -= count
    }

    /// Evicts least recently used entries until `count` more bytes fit.
    private mutating func makeRoom(for count: Int) {
        while bytes + count > budget, let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
            bytes -= entries.remove(at: oldest).state.count
            evictions += 1
        }
    }
}
