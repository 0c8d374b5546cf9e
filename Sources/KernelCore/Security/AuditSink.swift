import Foundation

/// Where `AuditLog` keeps its lines: appended in order, read back whole.
/// Implementations: `AuditFile` (an O_APPEND file) in KernelPOSIX.
///
/// Thread: `AuditLog` calls `append` from its serial queue only, one line at
/// a time; `contents` from any thread.
public protocol AuditSink: Sendable {
    /// Appends `line` (one JSON record and its newline) whole, after every
    /// line appended before it. A line the OS refuses (disk full, I/O error)
    /// is dropped: auditing never stops the kernel.
    func append(_ line: Data)

    /// Every line kept, oldest first, those kept before this run included;
    /// nil when they cannot be read.
    func contents() -> Data?
}
