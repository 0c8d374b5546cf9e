import Synchronization

/// One instance's syscalls by name and status (`agentos_syscalls_total`),
/// kept by the instance and read at scrape time: a successful call costs one
/// relaxed increment on a counter of its own, a failed one a short lock.
/// Thread-safe.
final class SyscallCounts: Sendable {
    private let succeeded = Syscall.allCases.map { _ in PaddedCounter() }
    private let failed = Mutex<[FailureKey: UInt64]>([:])

    private struct FailureKey: Hashable {
        let syscall: Syscall
        let status: AOSStatus
    }

    @inline(__always)
    func count(_ syscall: Syscall, _ status: AOSStatus) {
        if status == .ok {
            succeeded[syscall.rawValue].increment()
        } else {
            failed.withLock { $0[FailureKey(syscall: syscall, status: status), default: 0] += 1 }
        }
    }

    /// Every (syscall, status) pair called at least once, with its count.
    func snapshot() -> [AgentMetrics.SyscallCount] {
        let ok = Syscall.allCases.compactMap { syscall in
            let count = succeeded[syscall.rawValue].value
            return count == 0 ? nil : AgentMetrics.SyscallCount(syscall: syscall.name, status: AOSStatus.ok.label, count: count)
        }
        let failures = failed.withLock { $0 }
            .map { AgentMetrics.SyscallCount(syscall: $0.key.syscall.name, status: $0.key.status.label, count: $0.value) }
            .sorted { ($0.syscall, $0.status) < ($1.syscall, $1.status) }
        return ok + failures
    }
}
