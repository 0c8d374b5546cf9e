import Glibc

/// The tool call running on the current thread, so `tool_error` can fail it
/// without the tool naming the call, and a fatal-signal handler can name the
/// tool that crashed on a borrowed thread. Thread-local; calls do not nest.
public enum CurrentToolCall {
    /// What a tool reported about the call it is running.
    final class Report {
        var message: String?
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The running call's label, a C string owned by its `Tool`: plain
    /// pointer storage a signal handler can read without allocating.
    private static let labelKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Marks a call of the tool `label` ("INSTANCE.tool", NUL-terminated,
    /// valid until `end()`) as running on this thread.
    static func begin(label: UnsafePointer<CChar>) -> Report {
        let report = Report()
        pthread_setspecific(key, Unmanaged.passRetained(report).toOpaque())
        pthread_setspecific(labelKey, label)
        return report
    }

    static func end() {
        pthread_setspecific(labelKey, nil)
        guard let pointer = pthread_getspecific(key) else { return }
        Unmanaged<Report>.fromOpaque(pointer).release()
        pthread_setspecific(key, nil)
    }

    /// Makes `runningToolLabel()` safe to call from a signal handler: creates
    /// the thread-local keys now, so the handler never runs their one-time
    /// initialisation (which may lock). Call once at startup, before any
    /// handler that reads the label is installed.
    public static func prepareForSignalHandlers() {
        _ = key
        _ = labelKey
    }

    /// The label ("INSTANCE.tool") of the tool call running on this thread,
    /// or nil. Allocates nothing and takes no lock (glibc's
    /// pthread_getspecific reads the thread's own descriptor), so a fatal
    /// signal handler may call it after `prepareForSignalHandlers()`. The
    /// pointer is valid while the call runs, which a crashed call never ends.
    public static func runningToolLabel() -> UnsafePointer<CChar>? {
        pthread_getspecific(labelKey).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
    }

    /// Longest error message kept, in bytes.
    public static let maxMessageBytes = 4096

    /// Fails the call running on this thread with `message` (the first report wins).
    /// Returns false when no tool call runs here.
    public static func fail(_ message: UnsafePointer<CChar>) -> Bool {
        guard let pointer = pthread_getspecific(key) else { return false }
        let report = Unmanaged<Report>.fromOpaque(pointer).takeUnretainedValue()
        if report.message == nil {
            let length = min(strlen(message), maxMessageBytes)
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(message).assumingMemoryBound(to: UInt8.self), count: length)
            report.message = String(decoding: bytes, as: UTF8.self)
        }
        return true
    }
}
