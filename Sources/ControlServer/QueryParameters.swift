import Hummingbird

/// The checked query parameters of control requests. A malformed value throws
/// `RequestError.badQuery` naming the parameter and what it should be (400).
extension Request {
    /// `?name`, `?name=1` or `?name=true` is true; absent, `0` or `false` is false.
    func flag(_ name: String) throws -> Bool {
        switch uri.queryParameters.get(name) {
        case nil, "0", "false": false
        case "", "1", "true": true
        case let other?: throw RequestError.badQuery("query parameter \(name)=\(other) should be 0 or 1")
        }
    }

    /// The integer `name` in `range`, or nil when absent.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let number = Int(raw), range.contains(number) else {
            throw RequestError.badQuery("query parameter \(name)=\(raw) should be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}
