extension Array where Element == Double {
    /// The middle value (the lower one of an even count).
    var median: Double { percentile(50) }

    /// The nearest-rank `p`th percentile: the smallest value at or above `p`% of the values.
    func percentile(_ p: Double) -> Double {
        precondition(!isEmpty, "a percentile of no values")
        let sorted = sorted()
        let rank = Int((p / 100 * Double(count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), count) - 1]
    }
}
