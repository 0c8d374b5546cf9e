import CCrashRecord
import Glibc
import KernelCore
import Synchronization

/// An instance's thread as a pthread with the default attributes (the
/// process's stack size), named through `/proc/thread-self/comm` for `top -H`,
/// debuggers and fatal lines. Its CPU time is read on its CPU-time clock while
/// it runs, and stored as it ends. It has an alternate signal stack, so that
/// a plugin's stack overflow is reported by name (`FatalSignals`), and while
/// it runs an instance ("aos:NAME") it is mapped to that instance for crash
/// records (`aos_crash_thread_begin`). Thread-safe.
final class POSIXThread: InstanceThread {
    private let name: String
    /// The pthread, set by the thread as it begins (before `body`, which
    /// wakes the joiner): `join` reads it.
    private let thread = Atomic<UInt>(0)
    /// The thread's CPU-time clock, -1 until it begins.
    private let cpuClock = Atomic<Int32>(-1)
    /// Its CPU time, stored as it ends; 0 until then.
    private let finalCPUNanos = Atomic<UInt64>(0)

    /// How `PluginLifecycle` names an instance's thread: "aos:" and the instance's name.
    static let instancePrefix = "aos:"

    init(name: String) {
        self.name = name
    }

    func start(_ body: @escaping @Sendable () -> Void) throws(KernelError) {
        let run = ThreadBody { [self] in
            began()
            let signalStack = FatalSignals.installAlternateStack()
            if name.hasPrefix(Self.instancePrefix) { aos_crash_thread_begin(String(name.dropFirst(Self.instancePrefix.count))) }
            body()
            aos_crash_thread_end()
            FatalSignals.removeAlternateStack(signalStack)
            finalCPUNanos.store(Self.callingThreadCPUNanos(), ordering: .relaxed)
        }
        let argument = Unmanaged.passRetained(run).toOpaque()
        var created = pthread_t()
        let result = pthread_create(&created, nil, { argument in
            Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, argument)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(argument).release()
            throw KernelError(.internal, "cannot start thread \(name): \(String(cString: strerror(result)))")
        }
    }

    var cpuNanos: UInt64 {
        let final = finalCPUNanos.load(ordering: .relaxed)
        let clock = cpuClock.load(ordering: .relaxed)
        guard final == 0, clock != -1 else { return final }
        var time = timespec()
        // A clock of an ended thread fails (EINVAL) rather than read freed memory.
        guard clock_gettime(clock, &time) == 0 else { return finalCPUNanos.load(ordering: .relaxed) }
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    func join() {
        pthread_join(thread.load(ordering: .relaxed), nil)
    }

    /// On the new thread, first: records it and its clock, and names it.
    private func began() {
        let current = pthread_self()
        thread.store(current, ordering: .relaxed)
        var clock = clockid_t()
        if pthread_getcpuclockid(current, &clock) == 0 { cpuClock.store(clock, ordering: .relaxed) }
        Self.nameCallingThread(name)
    }

    /// The calling thread's CPU time in ns.
    private static func callingThreadCPUNanos() -> UInt64 {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Names the calling thread (15 bytes at most, as Linux keeps).
    private static func nameCallingThread(_ name: String) {
        let file = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard file >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(file, bytes, bytes.count)
        close(file)
    }
}

/// Carries the thread's closure through `pthread_create`'s `void *`.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
