import Glibc

/// Nanoseconds on CLOCK_MONOTONIC: the kernel's clock for deadlines and durations.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Nanoseconds on CLOCK_MONOTONIC_COARSE: a third of the cost of
/// `monotonicNanos` to read, and at most a clock tick (1 to 4 ms) behind it.
/// The clock of the tool-call rate quota, which the syscall path reads on
/// every call and for which a tick is nothing.
@inline(__always)
public func coarseMonotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Nanoseconds since the Unix epoch on CLOCK_REALTIME.
@inline(__always)
public func realtimeNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// The monotonic deadline `milliseconds` from now.
@inline(__always)
public func deadline(afterMilliseconds milliseconds: UInt32) -> UInt64 {
    monotonicNanos() + UInt64(milliseconds) * 1_000_000
}
