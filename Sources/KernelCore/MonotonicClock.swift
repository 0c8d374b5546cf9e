import Glibc

/// Nanoseconds on CLOCK_MONOTONIC: the kernel's clock for deadlines and durations.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
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
