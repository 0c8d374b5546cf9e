import Glibc
import Synchronization
import Tools

/// Catches `exit()` called by anything but the kernel's own shutdown — above
/// all a plugin calling `exit(0)` on its thread, which would otherwise end
/// the kernel with status 0 and no word, so that a supervisor restarting on
/// failure would leave it down.
///
/// `install()` registers an `on_exit` hook. Until `kernelExits()` is called,
/// the hook writes one line to stderr naming the thread that called exit (the
/// plugin instance, or the tool running there) and the status it passed, then
/// ends the process at once with `_exit(unexpectedExitStatus)`: the
/// remaining exit handlers and stdio flushing are skipped, as the process
/// is already in an unplanned state. `_exit` and `quick_exit` bypass the hook;
/// nothing in-process can see them.
///
/// Thread: `install` once, on the main thread at startup; `kernelExits` from
/// the thread about to end the process on purpose.
public enum UnexpectedExit {
    /// The status an unexpected exit is turned into: 70, EX_SOFTWARE
    /// ("internal software error") in sysexits.h.
    public static let unexpectedExitStatus: Int32 = 70

    private static let expected = Atomic<Bool>(false)
    private static let installed = Atomic<Bool>(false)
    nonisolated(unsafe) private static var line: UnsafeMutablePointer<UInt8>!
    nonisolated(unsafe) private static var threadName: UnsafeMutablePointer<CChar>!

    /// Registers the hook (once; later calls do nothing).
    public static func install() {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        line = FatalLine.allocateBuffer()
        threadName = .allocate(capacity: 16)
        CurrentToolCall.prepareForSignalHandlers()
        FatalLine.prepareThreadNames()
        on_exit({ status, _ in UnexpectedExit.hook(status: status) }, nil)
    }

    /// Marks the exit that follows as the kernel's own: the hook stays silent
    /// and the status is kept. Call it just before the kernel's own `exit`
    /// (or before returning from `main`).
    public static func kernelExits() {
        expected.store(true, ordering: .releasing)
    }

    private static func hook(status: Int32) {
        guard !expected.load(ordering: .acquiring) else { return }
        var text = FatalLine(buffer: line)
        text.append("agentosd: exit(")
        text.append(status)
        text.append(") called")
        text.appendThread(nameBuffer: threadName)
        text.append(", not by the kernel's shutdown: ending with status 70 (EX_SOFTWARE) so that a supervisor restarts it\n")
        text.write()
        _exit(unexpectedExitStatus)
    }
}
