import Foundation
import Testing

/// Waits until `condition` holds, checking every millisecond, and records an
/// issue if it does not within `seconds`: tests wait for a state they can
/// observe, never for a guessed amount of time.
func waitUntil(
    _ seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation, _ condition: @Sendable () -> Bool
) async {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else {
            Issue.record("condition not met within \(seconds) s", sourceLocation: sourceLocation)
            return
        }
        try? await Task.sleep(nanoseconds: 1_000_000)
    }
}
