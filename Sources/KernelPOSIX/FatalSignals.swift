import CCrashRecord
import Glibc
import Synchronization
import Tools

/// Names the plugin on every fatal signal, in one short line, and keeps the
/// crash output short.
///
/// A plugin runs in the kernel's process: its NULL dereference, its escaping
/// C++ exception (std::terminate → abort) or its division by zero kills the
/// kernel. `install()` handles SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and
/// SIGTRAP: the handler writes
///
///     agentosd: fatal SIGSEGV in plugin instance NAME (thread aos:NAME)
///     agentosd: fatal SIGSEGV in tool INSTANCE.TOOL (thread T)
///
/// (see `FatalLine.appendThread`), and once `recordCrashes(in:)` named a
/// folder, a crash record there for the next start (`aos_crash_write` in
/// CCrashRecord: the signal, the instance whose thread faulted, the tool
/// running on it, the faulting symbol and the innermost frame in a plugin,
/// with that plugin's file and SHA-256) and a line naming the record; then
/// the crashed thread's stack as raw
/// frames (`backtrace_symbols_fd`, at most `maxFrames`: a few KiB), then
/// restores the default action and raises the signal again, so the process
/// still dies of it (a core dump where enabled; systemd restarts the unit).
///
/// Two debuggers would otherwise run first. llama.cpp's ggml sets a
/// std::terminate handler that attaches gdb to the process and prints every
/// thread's stack, about 1 MB and 10 s before the abort: `install()` sets
/// GGML_NO_BACKTRACE=1 unless the environment already has it (ggml only
/// checks that it exists). And Swift's runtime backtracer is replaced, not chained, unless the
/// environment names SWIFT_BACKTRACE: run as a service it prints every
/// thread's stack and registers and the list of loaded images, about 1 MB
/// with many instances, before the frames that matter. Set SWIFT_BACKTRACE
/// (e.g. `SWIFT_BACKTRACE=enable=yes` or `enable=yes,threads=crashed`) to get
/// its full, symbolicated report back after the one-line summary.
///
/// The handler calls only async-signal-safe functions (write, sigaction,
/// pthread_sigmask, raise, nanosleep; glibc's prctl-backed
/// pthread_getname_np and pthread_getspecific) and works in buffers
/// allocated by `install()`. The first crashing thread reports; a second one
/// waits for it to end the process. The thread calling `install()` and every
/// instance thread (`POSIXThread`) get an alternate signal stack, so a stack
/// overflow there is reported too; on other threads it dies without the line.
///
/// Thread: `install` once, on the main thread at startup, after the Swift
/// runtime has installed its own handlers (any time in `main`).
public enum FatalSignals {
    /// The signals handled.
    public static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]
    /// Frames of the crashed thread printed, at most.
    public static let maxFrames = 48

    private static let installed = Atomic<Bool>(false)
    private static let reporting = Atomic<Bool>(false)
    /// The handlers before ours (Swift's backtracer), by signal number.
    nonisolated(unsafe) private static var previous: UnsafeMutablePointer<sigaction>!
    nonisolated(unsafe) private static var chainsToPrevious = false
    nonisolated(unsafe) private static var line: UnsafeMutablePointer<UInt8>!
    nonisolated(unsafe) private static var threadName: UnsafeMutablePointer<CChar>!
    nonisolated(unsafe) private static var frames: UnsafeMutablePointer<UnsafeMutableRawPointer?>!
    private typealias BacktraceFunction = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int32) -> Int32
    private typealias SymbolsFunction = @convention(c) (UnsafePointer<UnsafeMutableRawPointer?>?, Int32, Int32) -> Void
    nonisolated(unsafe) private static var backtrace: BacktraceFunction?
    nonisolated(unsafe) private static var backtraceSymbols: SymbolsFunction?
    private static let signalCount = 65

    /// Installs the handlers (once; later calls do nothing). With
    /// `chainToSwiftBacktracer` nil, chains to the runtime's backtracer only
    /// when the environment has SWIFT_BACKTRACE.
    public static func install(chainToSwiftBacktracer: Bool? = nil) {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        chainsToPrevious = chainToSwiftBacktracer ?? (getenv("SWIFT_BACKTRACE").map { $0[0] != 0 } ?? false)
        setenv("GGML_NO_BACKTRACE", "1", 0)
        CurrentToolCall.prepareForSignalHandlers()
        FatalLine.prepareThreadNames()
        line = FatalLine.allocateBuffer()
        threadName = .allocate(capacity: 16)
        frames = .allocate(capacity: maxFrames)
        previous = .allocate(capacity: signalCount)
        previous.initialize(repeating: sigaction(), count: signalCount)
        // glibc's backtrace (libc, but not in Swift's Glibc module); the first
        // call loads libgcc_s, which a signal handler must not do: call it now.
        backtrace = dlsym(nil, "backtrace").map { unsafeBitCast($0, to: BacktraceFunction.self) }
        backtraceSymbols = dlsym(nil, "backtrace_symbols_fd").map { unsafeBitCast($0, to: SymbolsFunction.self) }
        _ = backtrace?(frames, 1)
        _ = installAlternateStack()

        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { signal, info, context in
            FatalSignals.handle(signal, info, context)
        }
        action.sa_flags = SA_SIGINFO | SA_ONSTACK
        sigemptyset(&action.sa_mask)
        for signal in signals {
            sigaction(signal, &action, previous + Int(signal))
        }
    }

    /// Writes a crash record into `directory` (an existing folder,
    /// `$AGENTOS_HOME/crash`) on every fatal signal from now on. Returns false
    /// when the path is too long to be used from the handler. Call once the
    /// kernel holds its home, before instances run.
    @discardableResult
    public static func recordCrashes(in directory: String) -> Bool {
        aos_crash_configure(directory) == 0
    }

    /// Gives the calling thread 64 KiB of its own to run the handler on, so a
    /// stack overflow there is still reported (the handler needs a stack). Pass
    /// the result to `removeAlternateStack` before the thread ends.
    public static func installAlternateStack() -> UnsafeMutableRawPointer? {
        let size = 64 << 10
        guard let memory = malloc(size) else { return nil }
        var stack = stack_t(ss_sp: memory, ss_flags: 0, ss_size: size)
        guard sigaltstack(&stack, nil) == 0 else {
            free(memory)
            return nil
        }
        return memory
    }

    /// Undoes `installAlternateStack` on the same thread and frees its memory.
    public static func removeAlternateStack(_ memory: UnsafeMutableRawPointer?) {
        guard let memory else { return }
        var disabled = stack_t(ss_sp: nil, ss_flags: Int32(SS_DISABLE), ss_size: 0)
        sigaltstack(&disabled, nil)
        free(memory)
    }

    private static func handle(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
        if reporting.exchange(true, ordering: .acquiringAndReleasing) {
            // Another thread crashed first and is reporting: let it end the process.
            var wait = timespec(tv_sec: 5, tv_nsec: 0)
            nanosleep(&wait, nil)
            dieOf(signal)
        }
        FatalLine.readThreadName(into: threadName)
        let record = aos_crash_write(signal, info, context, threadName, CurrentToolCall.runningToolLabel())
        var text = FatalLine(buffer: line)
        text.append("agentosd: fatal ")
        text.append(name(of: signal))
        text.appendThread(nameBuffer: threadName)
        text.append(chainsToPrevious
            ? "; Swift's backtracer follows (SWIFT_BACKTRACE is set)\n"
            : "; the crashed thread's stack follows (set SWIFT_BACKTRACE=enable=yes for the full report)\n")
        text.write()
        if let record {
            var recorded = FatalLine(buffer: line)
            recorded.append("agentosd: crash record ")
            recorded.append(cString: record, limit: FatalLine.capacity - 64)
            recorded.append(" (the next start reports it and does not load the plugin again until its file changes)\n")
            recorded.write()
        }

        let before = previous[Int(signal)]
        if chainsToPrevious, before.sa_flags & SA_SIGINFO != 0, let chained = before.__sigaction_handler.sa_sigaction {
            var restore = before
            sigaction(signal, &restore, nil)
            chained(signal, info, context)
        } else if let backtrace, let backtraceSymbols {
            let count = backtrace(frames, Int32(maxFrames))
            backtraceSymbols(frames, count, STDERR_FILENO)
        }
        dieOf(signal)
    }

    /// Restores the default action of `signal`, unblocks it and raises it: the process ends with it.
    private static func dieOf(_ signal: Int32) -> Never {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal)
        _exit(128 + signal)
    }

    private static func name(of signal: Int32) -> StaticString {
        switch signal {
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        case SIGABRT: "SIGABRT"
        case SIGTRAP: "SIGTRAP"
        default: "signal"
        }
    }
}
