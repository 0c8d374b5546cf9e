import Synchronization

/// One instance's syscalls by name and status (`agentos_syscalls_total`),
/// kept by the instance and read at scrape time: a successful call costs one
/// relaxed increment (its own thread's, on counters no other thread writes
/// but a scrape), a failed one a short lock. Thread-safe.
final class SyscallCounts: @unchecked Sendable {
    /// One counter per `Syscall`, by raw value; allocated once, freed with the counts.
    private let succeeded: UnsafeMutablePointer<Atomic<UInt64>>
    private let failed = Mutex<[FailureKey: UInt64]>([:])

    init() {
        succeeded = .allocate(capacity: Syscall.allCases.count)
        for index in Syscall.allCases.indices { (succeeded + index).initialize(to: Atomic(0)) }
    }

    deinit {
        succeeded.deinitialize(count: Syscall.allCases.count)
        succeeded.deallocate()
    }

    private struct FailureKey: Hashable {
        let syscall: Syscall
        let status: AOSStatus
    }

    @inline(__always)
    func count(_ syscall: Syscall, _ status: AOSStatus) {
        if status == .ok {
            succeeded[syscall.rawValue].wrappingAdd(1, ordering: .relaxed)
        } else {
            failed.withLock { $0[FailureKey(syscall: syscall, status: status), default: 0] += 1 }
        }
    }

    /// Every (syscall, status) pair called at least once, with its count.
    func snapshot() -> [AgentMetrics.SyscallCount] {
        let ok = Syscall.allCases.compactMap { syscall in
            let count = succeeded[syscall.rawValue].load(ordering: .relaxed)
            return count == 0 ? nil : AgentMetrics.SyscallCount(syscall: syscall.name, status: AOSStatus.ok.label, count: count)
        }
        let failures = failed.withLock { $0 }
            .map { AgentMetrics.SyscallCount(syscall: $0.key.syscall.name, status: $0.key.status.label, count: $0.value) }
            .sorted { ($0.syscall, $0.status) < ($1.syscall, $1.status) }
        return ok + failures
    }
}
