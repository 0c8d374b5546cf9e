import Crypto
import Foundation
import KernelCore

/// Verifies a model file against the SHA-256 an operator expects, before it is loaded.
public enum ModelChecksum {
    /// Throws `.engineUnavailable` when the file cannot be read or its digest differs.
    /// Reads in 4 MiB chunks; blocks for about a second per 500 MB.
    public static func verify(path: String, sha256 expected: String) throws(KernelError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw KernelError(.engineUnavailable, "cannot load model \(path): no such file or not readable (run `make engine`)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try? handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard actual == expected.lowercased() else {
            throw KernelError(.engineUnavailable, "cannot load model \(path): sha256 is \(actual), expected \(expected.lowercased()) (the file is damaged or another model; run `make engine` again)")
        }
    }
}
