import Testing
@testable import Evaluation

@Suite struct StatisticsTests {
    @Test func percentilesUseTheNearestRank() {
        let values: [Double] = [15, 20, 35, 40, 50]
        #expect(Statistics.percentile(50, of: values) == 35)
        #expect(Statistics.percentile(95, of: values) == 50)
        #expect(Statistics.percentile(0, of: values) == 15)
        #expect(Statistics.percentile(100, of: values) == 50)
        #expect(Statistics.percentile(50, of: [3, 1]) == 1)
        #expect(Statistics.percentile(50, of: []) == nil)
        #expect(Statistics.percentile(95, of: (1...100).map(Double.init)) == 95)
    }

    @Test func theWilsonIntervalStaysInsideZeroToOne() throws {
        let half = try #require(Statistics.wilsonInterval(passed: 10, of: 20))
        #expect(abs(half.lowerBound - 0.2993) < 0.0005 && abs(half.upperBound - 0.7007) < 0.0005)
        let none = try #require(Statistics.wilsonInterval(passed: 0, of: 10))
        #expect(none.lowerBound == 0 && abs(none.upperBound - 0.2775) < 0.0005)
        let all = try #require(Statistics.wilsonInterval(passed: 10, of: 10))
        #expect(abs(all.lowerBound - 0.7225) < 0.0005 && abs(all.upperBound - 1) < 1e-12)
        #expect(Statistics.wilsonInterval(passed: 0, of: 0) == nil)
    }
}
