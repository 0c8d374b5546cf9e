import Foundation
import Glibc
import KernelCore

/// `$AGENTOS_HOME/crash/`: the crash records the fatal-signal handler writes
/// (`FatalSignals`, `aos_crash_write`), read at the next start
/// (`CrashRecordService`). Records are named `crash-<ms>-<pid>.txt`; a
/// handler that died mid-write leaves a `.crash-*.tmp`, which is removed.
///
/// Bounded: `all()` removes all but the newest `keep` files, oldest first,
/// so a plugin that crashes the kernel at every start (a restart loop) cannot
/// fill the disk. Every other file is a problem to report, never a reason to
/// fail the start. Thread-safe (the file system is the only state).
public struct CrashRecordFolder: CrashRecordStore {
    /// Files kept; older ones are removed by `all()`.
    public static let keep = 16

    public let path: String

    public init(path: String) { self.path = path }

    /// Creates the folder (mode 0700) if it is missing.
    public func prepare() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public func all() -> (records: [CrashRecord], unreadable: [UnreadableCrashRecord]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            return ([], [])
        }
        var files: [(name: String, modified: Double)] = []
        for name in names {
            if name.hasPrefix(".crash-"), name.hasSuffix(".tmp") {
                unlink(path + "/" + name)
                continue
            }
            var info = stat()
            guard lstat(path + "/" + name, &info) == 0 else { continue }
            files.append((name, Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9))
        }
        files.sort { ($0.modified, $0.name) < ($1.modified, $1.name) }
        for old in files.dropLast(Self.keep) { unlink(path + "/" + old.name) }
        var records: [CrashRecord] = []
        var unreadable: [UnreadableCrashRecord] = []
        for file in files.suffix(Self.keep) {
            do {
                records.append(try CrashRecord.parse(try read(file.name), file: file.name))
            } catch {
                unreadable.append(UnreadableCrashRecord(file: file.name, problem: error.description))
            }
        }
        records.sort { ($0.time, $0.file) < ($1.time, $1.file) }
        return (records, unreadable)
    }

    public func remove(file: String) throws(CrashRecordError) {
        guard !file.contains("/"), file != ".", file != ".." else { throw CrashRecordError("\(file) is not a file in \(path)") }
        guard unlink(path + "/" + file) == 0 || errno == ENOENT else {
            throw CrashRecordError("cannot remove \(path)/\(file): \(String(cString: strerror(errno)))")
        }
    }

    /// The file's bytes, at most `CrashRecord.maxBytes + 1` of them (more is not a record).
    private func read(_ name: String) throws(CrashRecordError) -> [UInt8] {
        let file = open(path + "/" + name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard file >= 0 else { throw CrashRecordError("cannot be read: \(String(cString: strerror(errno)))") }
        defer { close(file) }
        var info = stat()
        guard fstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw CrashRecordError("not a regular file") }
        var bytes = [UInt8](repeating: 0, count: CrashRecord.maxBytes + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress! + count, $0.count - count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw CrashRecordError("cannot be read: \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            count += got
        }
        return Array(bytes[..<count])
    }
}
