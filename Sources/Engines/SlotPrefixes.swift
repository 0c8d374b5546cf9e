import CLlama

/// What each slot's KV cache holds, token by token, so a request that starts
/// the way an earlier one did computes only the rest (prefix caching).
///
/// Each slot is its own KV stream (`kv_unified = false`, so a sequence
/// attends only over its own cells), and a slot keeps its KV after its
/// sequence ends. A new prompt goes to the free slot that already holds the
/// longest prefix of it, and is cut where they diverge; when a busy slot
/// holds a longer one, its whole stream is copied into a free slot first
/// (`llama_memory_seq_cp` across streams copies the buffer: about 46 MB and a
/// few milliseconds for 2,048 cells of this model, where prefill costs 2 to
/// 4 ms per token). Among equals the lowest free slot wins, and so gives up
/// its prefix when there is nothing to reuse: llama.cpp computes a batch's
/// attention over the whole range of streams it touches, so running
/// sequences kept in the low slots cost less than sequences spread out (on
/// 8 agents, spreading them least recently used first was 10 % slower).
///
/// The output is the same as without the cache when the prompt is split
/// into batches the same way: llama.cpp's arithmetic (and so, rarely, a
/// greedy token) depends on the split, and a cached prefix splits the
/// prompt where the cache ends (`PrefixCacheTests` shows both).
///
/// Value type, confined to the engine thread.
struct SlotPrefixes {
    /// Where a prompt goes and what of it is already computed.
    struct Placement: Equatable {
        /// The free slot that runs it.
        var slot: Int
        /// The slot whose KV is copied into `slot` first; nil to reuse `slot`'s own.
        var copyFrom: Int?
        /// Leading prompt tokens whose KV is reused.
        var reused: Int
    }

    /// A copy pays when it saves at least this many prompt tokens over the free slot's own prefix.
    static let minimumCopy = 16

    /// The tokens in each slot's KV, by position.
    private(set) var tokens: [[llama_token]]

    init(slots: Int) {
        tokens = Array(repeating: [], count: slots)
    }

    /// KV cells held, over all slots.
    var cellsHeld: Int { tokens.reduce(0) { $0 + $1.count } }

    /// Where `prompt` should run among the `free` slots (not empty). At
    /// least its last token is always computed: its logits start the output.
    func place(_ prompt: [llama_token], free: [Int]) -> Placement {
        let reusable = tokens.map { min(Self.commonPrefix(prompt, $0), prompt.count - 1) }
        let own = free.max { a, b in (reusable[a], b) < (reusable[b], a) }!
        let elsewhere = reusable.indices.max { reusable[$0] < reusable[$1] }!
        guard reusable[elsewhere] >= reusable[own] + Self.minimumCopy else {
            return Placement(slot: own, copyFrom: nil, reused: reusable[own])
        }
        return Placement(slot: free.min()!, copyFrom: elsewhere, reused: reusable[elsewhere])
    }

    /// Records that `placement` was carried out: the slot holds its source's tokens up to `reused`.
    mutating func apply(_ placement: Placement) {
        let source = tokens[placement.copyFrom ?? placement.slot]
        tokens[placement.slot] = Array(source.prefix(placement.reused))
    }

    /// `slot`'s KV now holds `tokens` (restored from host memory).
    mutating func hold(_ tokens: [llama_token], slot: Int) {
        self.tokens[slot] = tokens
    }

    /// Whether a slot other than `slot` holds all of `slot`'s tokens (and maybe more).
    func isCoveredElsewhere(_ slot: Int) -> Bool {
        let held = tokens[slot]
        return tokens.indices.contains { $0 != slot && tokens[$0].starts(with: held) }
    }

    /// `token` went into `slot`'s KV at the next position.
    mutating func append(_ token: llama_token, slot: Int) {
        tokens[slot].append(token)
    }

    /// `slot`'s KV was cleared.
    mutating func clear(_ slot: Int) {
        tokens[slot].removeAll()
    }

    /// How many leading tokens `a` and `b` share.
    static func commonPrefix(_ a: [llama_token], _ b: [llama_token]) -> Int {
        let count = min(a.count, b.count)
        var index = 0
        while index < count, a[index] == b[index] { index += 1 }
        return index
    }
}
