/// Runs `work`; after `timeout`, calls `onTimeout`, which must make `work` end
/// (a task group waits for it), and answers `.failure`.
func withTimeout<T: Sendable>(
    _ timeout: Duration, onTimeout: @escaping @Sendable () -> Void, _ work: @escaping @Sendable () async -> T
) async -> Result<T, TimeoutError> {
    await withTaskGroup(of: Result<T, TimeoutError>?.self) { group in
        group.addTask { .success(await work()) }
        group.addTask {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return nil }
            onTimeout()
            return .failure(TimeoutError())
        }
        defer { group.cancelAll() }
        while let next = await group.next() {
            if let next { return next }
        }
        return .failure(TimeoutError())
    }
}

struct TimeoutError: Error {}
