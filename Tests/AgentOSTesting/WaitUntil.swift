import Foundation

/// Waits until `condition` holds, checking it at once and then every 1 ms
/// (backing off to 10 ms); returns whether it held within `seconds`.
///
/// Tests wait for a state they can observe (a counter, a state, a mailbox's
/// waiters), never for a guessed amount of time:
/// `#expect(await waitUntil { mailbox.waiters.senders == 1 })`.
public func waitUntil(within seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    var pause: UInt64 = 1_000_000
    while !condition() {
        guard Date() < deadline else { return false }
        try? await Task.sleep(nanoseconds: pause)
        pause = min(pause * 2, 10_000_000)
    }
    return true
}
