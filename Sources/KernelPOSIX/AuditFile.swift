import Foundation
import Glibc
import KernelCore

/// The audit log's file: opened once with O_APPEND (created with mode 0600),
/// one `write` per line, so lines of concurrent writers never interleave.
/// Owns its descriptor and closes it when released. Thread-safe.
public final class AuditFile: AuditSink {
    private let path: String
    private let descriptor: Int32

    /// Opens (creating, mode 0600) the file at `path`. Throws `.internal` naming the file and the errno.
    public init(path: String) throws(KernelError) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw KernelError(.internal, "cannot open the audit log \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    public func append(_ line: Data) {
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    public func contents() -> Data? {
        FileManager.default.contents(atPath: path)
    }
}
