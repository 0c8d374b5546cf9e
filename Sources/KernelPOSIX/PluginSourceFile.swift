import Crypto
import Foundation
import Glibc
import KernelCore

/// A plugin file as the operator named it, open for reading, read in bounded
/// chunks and never whole.
///
/// Opening never blocks: the path is checked with `stat` first (a symlink is
/// followed to its target), so a directory, FIFO, socket, device or dangling
/// symlink is refused as `not_regular_file` before anything opens it; the
/// open itself uses `O_NONBLOCK`, and `fstat` of the open file checks again,
/// since the path may have been replaced between the two.
///
/// Owns its descriptor and a `chunkBytes` buffer, both released by `deinit`.
/// One thread at a time.
final class PluginSourceFile {
    /// The path the operator named; every error names it.
    let path: String
    private let descriptor: Int32
    private let maxBytes: Int
    private let buffer: UnsafeMutableRawPointer

    /// Bytes read per `pread`: the most of the file in memory at once.
    static let chunkBytes = 1 << 20

    /// Opens `path` for reading. Throws `.fileNotFound` when it is absent or
    /// unreadable, `.notRegularFile` when it (or a symlink's target) is not a
    /// regular file, `.tooBig` when it is larger than `maxBytes`.
    init(path: String, maxBytes: Int) throws(KernelError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let error = errno
            var link = stat()
            if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                let problem = error == ELOOP ? "a symlink loop" : "a symlink to \(target), which \(error == ENOENT ? "does not exist" : "cannot be read (\(Self.describe(error)))")"
                throw KernelError(.notRegularFile, "cannot load \(path): not a regular file: it is \(problem)")
            }
            throw KernelError(.fileNotFound, "cannot load \(path): \(Self.describe(error))")
        }
        try Self.requireRegular(info, path: path)
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else {
            throw KernelError(.fileNotFound, "cannot load \(path): cannot read it: \(Self.describe(errno))")
        }
        guard fstat(descriptor, &info) == 0 else {
            let error = errno
            close(descriptor)
            throw KernelError(.fileNotFound, "cannot load \(path): cannot read it: \(Self.describe(error))")
        }
        do {
            try Self.requireRegular(info, path: path)
            try Self.requireAtMost(maxBytes, Int(info.st_size), path: path)
        } catch {
            close(descriptor)
            throw error
        }
        self.path = path
        self.descriptor = descriptor
        self.maxBytes = maxBytes
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkBytes, alignment: 16)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    /// The SHA-256 of the file's bytes as they are now.
    /// Throws `.fileNotFound` when a read fails, `.tooBig` when it grew past the limit.
    func digest() throws(KernelError) -> ContentHash {
        var hash = SHA256()
        _ = try readAll { chunk throws(KernelError) in hash.update(bufferPointer: chunk) }
        return ContentHash(hash.finalize())
    }

    /// Writes the file's bytes to `copy` (an open, empty file) while hashing
    /// them; returns the hash and size of what was written, which is what the
    /// copy holds even if the file changes meanwhile.
    func copy(to copy: Int32, copyPath: String) throws(KernelError) -> (digest: ContentHash, size: Int) {
        var hash = SHA256()
        let size = try readAll { chunk throws(KernelError) in
            hash.update(bufferPointer: chunk)
            var offset = 0
            while offset < chunk.count {
                let written = write(copy, chunk.baseAddress! + offset, chunk.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    throw KernelError(.internal, "cannot load \(path): cannot write its private copy \(copyPath): \(Self.describe(errno))")
                }
                offset += written
            }
        }
        return (ContentHash(hash.finalize()), size)
    }

    /// Calls `body` with each chunk of the file from its start; returns the byte count.
    private func readAll(_ body: (UnsafeRawBufferPointer) throws(KernelError) -> Void) throws(KernelError) -> Int {
        var offset = 0
        while true {
            let count = pread(descriptor, buffer, Self.chunkBytes, off_t(offset))
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw KernelError(.fileNotFound, "cannot load \(path): cannot read it: \(Self.describe(errno))")
            }
            guard count > 0 else { return offset }
            offset += count
            guard offset <= maxBytes else {
                throw KernelError(.tooBig, "cannot load \(path): it grew past \(maxBytes >> 20) MiB while being read; plugins may be at most \(maxBytes >> 20) MiB")
            }
            try body(UnsafeRawBufferPointer(start: buffer, count: count))
        }
    }

    private static func requireRegular(_ info: stat, path: String) throws(KernelError) {
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO (named pipe)"
        case S_IFSOCK: kind = "a socket"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        default: kind = "of file type 0o\(String(info.st_mode & S_IFMT, radix: 8))"
        }
        throw KernelError(.notRegularFile, "cannot load \(path): not a regular file: it is \(kind) (give the path of a plugin's .so file)")
    }

    private static func requireAtMost(_ maxBytes: Int, _ size: Int, path: String) throws(KernelError) {
        guard size <= maxBytes else {
            throw KernelError(.tooBig, "cannot load \(path): \(size) bytes; plugins may be at most \(maxBytes >> 20) MiB")
        }
    }

    static func describe(_ error: Int32) -> String {
        String(cString: strerror(error)).lowercased()
    }
}
