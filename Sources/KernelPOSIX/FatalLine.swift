import Glibc
import Tools

/// One line the kernel writes to stderr on a fatal path (a fatal signal, an
/// unexpected `exit`), built without allocating or locking: only `write(2)`
/// touches the system, so it is async-signal-safe.
///
/// It writes into a buffer allocated beforehand and owned by the caller, which
/// must make sure only one thread uses that buffer at a time.
struct FatalLine {
    /// Bytes one line holds; longer lines are cut.
    static let capacity = 1024

    private let buffer: UnsafeMutablePointer<UInt8>
    private var count = 0

    /// A line in `buffer`, which holds at least `capacity` bytes.
    init(buffer: UnsafeMutablePointer<UInt8>) { self.buffer = buffer }

    /// Allocates a buffer for `init(buffer:)`, once, before any fatal path can run.
    static func allocateBuffer() -> UnsafeMutablePointer<UInt8> { .allocate(capacity: capacity) }

    mutating func append(_ text: StaticString) {
        append(bytes: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Appends the NUL-terminated `text`, at most `limit` bytes of it.
    mutating func append(cString text: UnsafePointer<CChar>, limit: Int = 256) {
        var length = 0
        while length < limit, text[length] != 0 { length += 1 }
        text.withMemoryRebound(to: UInt8.self, capacity: length) { append(bytes: $0, count: length) }
    }

    mutating func append(_ value: Int32) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var magnitude = value.magnitude
        var used = 0
        withUnsafeMutableBytes(of: &digits) { digits in
            repeat {
                digits[digits.count - 1 - used] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
                magnitude /= 10
                used += 1
            } while magnitude > 0
            if value < 0 {
                digits[digits.count - 1 - used] = 0x2D
                used += 1
            }
            append(bytes: digits.baseAddress!.assumingMemoryBound(to: UInt8.self) + (digits.count - used), count: used)
        }
    }

    private mutating func append(bytes: UnsafePointer<UInt8>, count length: Int) {
        let kept = min(length, Self.capacity - count)
        (buffer + count).update(from: bytes, count: kept)
        count += kept
    }

    /// Writes the line to stderr, retrying short writes and EINTR.
    func write() {
        var written = 0
        while written < count {
            let result = Glibc.write(STDERR_FILENO, buffer + written, count - written)
            if result > 0 {
                written += result
            } else if result < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    private typealias GetName = @convention(c) (pthread_t, UnsafeMutablePointer<CChar>?, Int) -> Int32
    /// glibc's pthread_getname_np: not in Swift's Glibc module (it is a GNU
    /// extension), so found with dlsym once, by `prepareThreadNames()`.
    nonisolated(unsafe) private static var getName: GetName?
    nonisolated(unsafe) private static var threadNamesPrepared = false

    /// Finds pthread_getname_np; call before any fatal path can run.
    static func prepareThreadNames() {
        getName = dlsym(nil, "pthread_getname_np").map { unsafeBitCast($0, to: GetName.self) }
        threadNamesPrepared = true
    }

    /// The calling thread's name, NUL-terminated, into the 16 bytes at `name`
    /// ("" when it cannot be read). For the calling thread glibc reads it with
    /// prctl(PR_GET_NAME): no lock, no allocation; without the function, the
    /// name is read from /proc/thread-self/comm (open, read, close: all safe).
    static func readThreadName(into name: UnsafeMutablePointer<CChar>) {
        name[0] = 0
        if let getName {
            if getName(pthread_self(), name, 16) != 0 { name[0] = 0 }
        } else {
            let file = open("/proc/thread-self/comm", O_RDONLY)
            if file >= 0 {
                let count = read(file, name, 15)
                name[max(0, count)] = 0
                if count > 0, name[count - 1] == 0x0A { name[count - 1] = 0 }
                close(file)
            }
        }
        name[15] = 0
    }

    /// Appends who is running on this thread, for a fatal line: " in plugin
    /// instance NAME (thread aos:NAME)" on an instance's thread, " in tool
    /// INSTANCE.TOOL (thread T)" while a tool call runs here (a thread-safe
    /// tool runs on its caller's thread), else " on thread T, which is not a
    /// plugin's". `name` is a 16-byte scratch buffer owned like the line's.
    ///
    /// Instance threads are named "aos:NAME" (PluginLifecycle, POSIXThread), cut to the 15
    /// bytes Linux keeps, so a long instance name shows only its first 11 bytes.
    mutating func appendThread(nameBuffer name: UnsafeMutablePointer<CChar>) {
        precondition(Self.threadNamesPrepared, "FatalLine.prepareThreadNames() first")
        Self.readThreadName(into: name)
        if name[0] == 0 {
            name[0] = 0x3F  // "?"
            name[1] = 0
        }
        let isInstance = name[0] == 0x61 && name[1] == 0x6F && name[2] == 0x73 && name[3] == 0x3A  // "aos:"
        if let tool = CurrentToolCall.runningToolLabel() {
            append(" in tool ")
            append(cString: tool)
            append(" (thread ")
            append(cString: name)
            append(")")
        } else if isInstance {
            append(" in plugin instance ")
            append(cString: name + 4)
            append(" (thread ")
            append(cString: name)
            append(")")
        } else {
            append(" on thread ")
            append(cString: name)
            append(", which is not a plugin's")
        }
    }
}
