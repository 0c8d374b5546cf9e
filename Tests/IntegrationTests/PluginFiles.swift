import Foundation
import Glibc

/// Plugin files made by tests: copies of built plugins, patched or cut, and
/// written the way a user's `cp` would.
enum PluginFiles {
    /// The bytes of a built fixture or example (see `Paths.plugin`).
    static func bytes(of plugin: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: Paths.plugin(plugin))))
    }

    /// `plugin`'s bytes with `patches` (offset → byte) applied.
    static func patched(_ plugin: String, _ patches: [Int: UInt8]) throws -> [UInt8] {
        var bytes = try bytes(of: plugin)
        for (offset, byte) in patches { bytes[offset] = byte }
        return bytes
    }

    /// Writes `bytes` to `path` (created or truncated) with one open, write
    /// and close, so a watcher sees exactly one close-after-write.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let file = try open(path)
        defer { close(file) }
        try write(bytes[...], to: file)
    }

    static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Opens `path` for writing, created or truncated.
    static func open(_ path: String) throws -> Int32 {
        let file = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw Failure(description: "open \(path): \(String(cString: strerror(errno)))") }
        return file
    }

    /// Writes all of `bytes` to the open `file`.
    static func write(_ bytes: ArraySlice<UInt8>, to file: Int32) throws {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(file, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }
}
