import Glibc

/// The tool call running on the current thread, so `tool_error` can fail it
/// without the tool naming the call. Thread-local; calls do not nest.
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

    /// Marks a call as running on this thread.
    static func begin() -> Report {
        let report = Report()
        pthread_setspecific(key, Unmanaged.passRetained(report).toOpaque())
        return report
    }

    static func end() {
        guard let pointer = pthread_getspecific(key) else { return }
        Unmanaged<Report>.fromOpaque(pointer).release()
        pthread_setspecific(key, nil)
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
