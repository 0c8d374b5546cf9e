/// The OS thread one instance runs on: made idle, started once, joined once.
///
/// The kernel makes it at load (`InstanceThreading.makeThread`), starts it
/// with the instance's body (`InstanceRunner`), reads its CPU time for
/// reports, and joins it in the reaper before it closes the plugin's library.
/// Implementations: `POSIXThread` in KernelPOSIX. Thread-safe.
public protocol InstanceThread: AnyObject, Sendable {
    /// Starts the thread, which runs `body` once and ends. Call once.
    /// Throws `.internal` naming the thread and the OS's reason when the OS
    /// refuses a thread; `body` then never runs.
    func start(_ body: @escaping @Sendable () -> Void) throws(KernelError)

    /// The CPU time the thread has used, in ns: 0 before it starts, its total
    /// once it has ended. Any thread.
    var cpuNanos: UInt64 { get }

    /// Waits until the thread has ended and releases it. Call once, from
    /// another thread, after `body` has begun (the kernel's reaper, which the
    /// body itself wakes as its last act).
    func join()
}
