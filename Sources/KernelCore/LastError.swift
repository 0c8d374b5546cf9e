import Glibc

/// The detailed reason of the last failed syscall on each thread, for the
/// `last_error` syscall (ABI 1.4; sqlite3_errmsg's idea).
///
/// Thread-local: every function works on the calling thread's own record, so
/// no lock is taken and threads never see each other's reasons. A refusal
/// path calls `record(_:)` with the reason it also logs; the syscall table
/// calls `settle(_:)` with every failed status, which keeps a reason recorded
/// during this syscall and otherwise stores the status's own description, so
/// `last_error` never shows the reason of an older failure. `cString()` is
/// what the syscall returns: the text stays valid on this thread until the
/// thread's next `record` or `settle`, that is its next failed syscall, which
/// the header promises as "until the thread's next syscall".
public enum LastError {
    /// Longest reason kept, in bytes (cut at a UTF-8 character boundary).
    public static let maxBytes = 4096

    /// One thread's record: a NUL-terminated buffer that grows as needed, and
    /// whether the running syscall has recorded its reason yet.
    private struct Record {
        var text: UnsafeMutablePointer<CChar>?
        var capacity: Int
        var fresh: Bool
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let record = pointer?.assumingMemoryBound(to: Record.self) else { return }
            free(record.pointee.text)
            record.deinitialize(count: 1)
            record.deallocate()
        }
        return key
    }()

    /// "", for threads with no failure yet; never freed, never written.
    nonisolated(unsafe) private static let empty: UnsafePointer<CChar> = {
        let text = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        text.initialize(to: 0)
        return UnsafePointer(text)
    }()

    /// Records why the syscall running on this thread fails: one line, the
    /// reason the kernel also logs (e.g. "no agent named x is running (see
    /// `agentctl ps`)"). Call it on the refusal path, before returning the status.
    public static func record(_ text: String) {
        store(text)
        current().pointee.fresh = true
    }

    /// Ends a syscall that returns `status` to the plugin. For a failure with
    /// no reason recorded during this syscall, stores the status's own
    /// description ("AOS_EFULL (mailbox full)"); does nothing for `.ok`.
    @inline(__always)
    public static func settle(_ status: AOSStatus) {
        guard status != .ok else { return }
        settleFailure(status)
    }

    private static func settleFailure(_ status: AOSStatus) {
        let record = current()
        if !record.pointee.fresh { store(status.description) }
        record.pointee.fresh = false
    }

    /// The reason of this thread's last failed syscall, NUL-terminated UTF-8;
    /// "" when none failed yet. Owned here: valid on this thread until its next
    /// `record` or `settle`. Never NULL. This is `aos_kernel_api.last_error`.
    public static func cString() -> UnsafePointer<CChar> {
        guard let record = pthread_getspecific(key)?.assumingMemoryBound(to: Record.self),
              let text = record.pointee.text else { return empty }
        return UnsafePointer(text)
    }

    /// The reason as a Swift string (for tests and the kernel's own use).
    public static var text: String { String(cString: cString()) }

    private static func store(_ text: String) {
        let record = current()
        var bytes = Array(text.utf8.prefix(maxBytes))
        if bytes.count == maxBytes {
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }  // a cut character's tail
            if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }             // and its lead byte
        }
        bytes.removeAll { $0 == 0 || $0 == 0x0A }  // one line, and NUL ends it
        if record.pointee.capacity < bytes.count + 1 {
            free(record.pointee.text)
            record.pointee.capacity = max(bytes.count + 1, 128)
            record.pointee.text = malloc(record.pointee.capacity)?.assumingMemoryBound(to: CChar.self)
            guard record.pointee.text != nil else { record.pointee.capacity = 0; return }
        }
        bytes.withUnsafeBytes { source in
            let destination = UnsafeMutableRawPointer(record.pointee.text!)
            if let base = source.baseAddress { destination.copyMemory(from: base, byteCount: source.count) }
            destination.storeBytes(of: 0, toByteOffset: source.count, as: UInt8.self)
        }
    }

    private static func current() -> UnsafeMutablePointer<Record> {
        if let pointer = pthread_getspecific(key) { return pointer.assumingMemoryBound(to: Record.self) }
        let record = UnsafeMutablePointer<Record>.allocate(capacity: 1)
        record.initialize(to: Record(text: nil, capacity: 0, fresh: false))
        pthread_setspecific(key, record)
        return record
    }
}
