import CAgentOS
import CCrashRecord
import Crypto
import Foundation
import Synchronization

/// One verified private copy of a plugin file's content, open with dlopen:
/// its ELF headers and descriptor have passed `ELFCheck` and `DescriptorCheck`.
///
/// Immutable. The `LibraryCache` that made it counts the images using it and
/// closes it (dlclose, then unlink of the copy) when the last one is closed;
/// nothing else calls `close()`.
final class SharedLibrary: @unchecked Sendable {  // immutable; the pointers are the loader's to close
    /// SHA-256 of the copy's bytes.
    let digest: ContentHash
    /// The private copy under the copies directory.
    let copyPath: String
    /// The dlopen handle of `copyPath`.
    let handle: UnsafeMutableRawPointer
    /// `aos_plugin` in the library, already checked.
    let symbol: UnsafeRawPointer
    /// Whether later loads of the same content may use this library too.
    /// Agents keep per-instance state behind init's state pointer; tool functions
    /// get no state argument, so agentos.h promises tool plugins their own statics,
    /// and each load of one gets its own copy.
    let isShareable: Bool

    /// Registers the library for crash records as loaded from `source` (the
    /// file first opened with this content), so a crash in its code names
    /// that file and `digest` (`aos_crash_register_library`).
    init(digest: ContentHash, copyPath: String, handle: UnsafeMutableRawPointer, symbol: UnsafeRawPointer, source: String) {
        self.digest = digest
        self.copyPath = copyPath
        self.handle = handle
        self.symbol = symbol
        isShareable = symbol.assumingMemoryBound(to: aos_plugin_descriptor.self).pointee.kind != AOS_KIND_TOOL
        aos_crash_register_library(symbol, source, digest.hex)
    }

    /// dlclose, then removes the copy. Called once, by the cache.
    func close() {
        aos_crash_unregister_library(symbol)
        dlclose(handle)
        unlink(copyPath)
    }
}

/// The libraries a `PluginLoader` has open, by content: a new load of content
/// already open (and shareable) uses the same copy and handle.
///
/// Thread-safe: `entries` is only touched inside its mutex; dlclose runs outside it.
final class LibraryCache: Sendable {
    private struct Entry {
        let library: SharedLibrary
        var users: Int
    }

    private let entries = Mutex<[ContentHash: Entry]>([:])

    /// The shareable library holding content `digest`, counted as one more user; nil when none is open.
    func acquire(_ digest: ContentHash) -> SharedLibrary? {
        entries.withLock { entries in
            guard var entry = entries[digest] else { return nil }
            entry.users += 1
            entries[digest] = entry
            return entry.library
        }
    }

    /// Starts counting the users of `library`, just opened, with one: itself.
    /// When another thread opened the same content first, closes `library` and
    /// returns that one (counted as one more user) instead.
    func adopt(_ library: SharedLibrary) -> SharedLibrary {
        guard library.isShareable else { return library }
        let existing: SharedLibrary? = entries.withLock { entries in
            if var entry = entries[library.digest] {
                entry.users += 1
                entries[library.digest] = entry
                return entry.library
            }
            entries[library.digest] = Entry(library: library, users: 1)
            return nil
        }
        guard let existing else { return library }
        library.close()
        return existing
    }

    /// One user of `library` is done with it; the last one closes it.
    /// Call only once no thread can run the library's code on that user's behalf.
    func release(_ library: SharedLibrary) {
        let last: Bool = library.isShareable ? entries.withLock { entries in
            guard var entry = entries[library.digest], entry.library === library else { return true }
            entry.users -= 1
            if entry.users > 0 {
                entries[library.digest] = entry
                return false
            }
            entries[library.digest] = nil
            return true
        } : true
        if last { library.close() }
    }
}

/// The SHA-256 of a plugin file's bytes: what tells two contents apart.
struct ContentHash: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ digest: SHA256.Digest) {
        bytes = Array(digest)
    }

    /// 64 lowercase hex digits.
    var hex: String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return text
    }
}
