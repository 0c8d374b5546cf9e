/// What was spent in the last minute, counted in one-second slots: a rate
/// quota's use, as `agentctl quota` shows it beside the limit.
///
/// Times are nanoseconds on the caller's monotonic clock; a time earlier than
/// the newest seen counts in the newest second. The window is the current
/// second and the 59 before it. Value type, no locking: whoever holds it guards it.
struct MinuteSpend: Sendable, Equatable {
    private var slots = [Int](repeating: 0, count: 60)
    /// The second (clock time / 1 s) of the newest slot written.
    private var newestSecond: UInt64 = 0

    /// Counts `amount` spent at `now`.
    mutating func add(_ amount: Int, now: UInt64) {
        let second = max(now / 1_000_000_000, newestSecond)
        if second > newestSecond {
            // Clear the slots of the seconds skipped since the newest one (all of them after a minute).
            for skipped in (newestSecond + 1)...min(second, newestSecond + 60) { slots[Int(skipped % 60)] = 0 }
            newestSecond = second
        }
        slots[Int(second % 60)] += amount
    }

    /// What was spent in the minute up to `now`.
    func total(now: UInt64) -> Int {
        let second = max(now / 1_000_000_000, newestSecond)
        let stale = second - newestSecond  // seconds since the newest slot: they spent nothing
        guard stale < 60 else { return 0 }
        // The newest slot and the 59 - stale before it are inside the window.
        return (0..<(60 - Int(stale))).reduce(0) { sum, back in
            sum + slots[Int((newestSecond + 60 - UInt64(back)) % 60)]
        }
    }
}
