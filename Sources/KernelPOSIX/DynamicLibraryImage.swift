import CAgentOS
import Foundation
import KernelCore
import Synchronization

/// One instance's use of a plugin library: a `SharedLibrary` (the verified
/// private copy and its dlopen handle, shared by every instance loaded from
/// the same content) and the instance's own descriptor.
///
/// `descriptor` is the kernel's own full-size copy of the plugin's, zeroed
/// past the plugin's struct_size, so fields a plugin built against an older
/// ABI lacks read as 0/NULL and nothing reads past its symbol.
///
/// `close()` gives the library back to the cache, which runs dlclose and
/// deletes the copy when no other image uses it; the kernel calls it only once
/// no thread of this instance can run the library's code. Thread-safe.
final class DynamicLibraryImage: PluginImage, @unchecked Sendable {  // `library` is behind `open`'s lock; the rest is immutable
    let descriptor: UnsafePointer<aos_plugin_descriptor>
    let sourcePath: String
    /// The verified private copy this image runs (what a process-mode host opens).
    let copyPath: String
    let contentSHA256: String?
    private let copy: UnsafeMutablePointer<aos_plugin_descriptor>
    private let cache: LibraryCache
    /// The library until `close()`.
    private let open: Mutex<SharedLibrary?>

    /// `library.symbol` has passed `DescriptorCheck`, so its struct_size is at least ABI 1.0's.
    /// The image is one of the users `cache` counts for `library`.
    init(library: SharedLibrary, cache: LibraryCache, sourcePath: String) {
        let size = MemoryLayout<aos_plugin_descriptor>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<aos_plugin_descriptor>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let declared = Int(library.symbol.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        raw.copyMemory(from: library.symbol, byteCount: min(declared, size))
        copy = raw.bindMemory(to: aos_plugin_descriptor.self, capacity: 1)
        descriptor = UnsafePointer(copy)
        self.sourcePath = sourcePath
        copyPath = library.copyPath
        contentSHA256 = library.digest.hex
        self.cache = cache
        open = Mutex(library)
    }

    deinit { copy.deallocate() }

    func close() {
        guard let library = open.withLock({ library in defer { library = nil }; return library }) else { return }
        cache.release(library)
    }
}
