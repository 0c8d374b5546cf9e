import Foundation

/// Runs blocking `work` on its own OS thread and awaits its result, so tests
/// never block the cooperative pool (two threads on a two-core machine).
public func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
