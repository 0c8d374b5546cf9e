import Foundation

/// The few statistics a run reports.
public enum Statistics {
    /// The nearest-rank `percentile` (0-100) of `values`: the smallest value
    /// with at least that share of values at or below it; nil when empty.
    public static func percentile(_ percentile: Double, of values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The Wilson score interval of a pass rate of `passed` out of `total`
    /// (95% by default): unlike the normal approximation it stays within
    /// 0...1 and is sensible for small counts and rates near 0 or 1.
    public static func wilsonInterval(passed: Int, of total: Int, z: Double = 1.959964) -> ClosedRange<Double>? {
        guard total > 0 else { return nil }
        let n = Double(total)
        let p = Double(passed) / n
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let margin = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
        return max(0, centre - margin)...min(1, centre + margin)
    }
}
