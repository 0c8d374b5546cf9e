import CAgentOS
import Foundation
import KernelCore

/// A plugin library opened with dlopen from a private copy of its file.
///
/// `descriptor` is the kernel's own full-size copy of the plugin's, zeroed
/// past the plugin's struct_size, so fields a plugin built against an older
/// ABI lacks read as 0/NULL and nothing reads past its symbol.
///
/// `close()` runs dlclose and deletes the copy; the kernel calls it only once
/// no thread can run the library's code.
final class DynamicLibraryImage: PluginImage, @unchecked Sendable {
    let descriptor: UnsafePointer<aos_plugin_descriptor>
    let sourcePath: String
    private let copyPath: String
    private var handle: UnsafeMutableRawPointer?
    private let copy: UnsafeMutablePointer<aos_plugin_descriptor>

    /// `symbol` has passed `DescriptorCheck`, so its struct_size is at least ABI 1.0's.
    init(handle: UnsafeMutableRawPointer, symbol: UnsafeRawPointer, sourcePath: String, copyPath: String) {
        let size = MemoryLayout<aos_plugin_descriptor>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<aos_plugin_descriptor>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let declared = Int(symbol.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        raw.copyMemory(from: symbol, byteCount: min(declared, size))
        copy = raw.bindMemory(to: aos_plugin_descriptor.self, capacity: 1)
        self.handle = handle
        self.descriptor = UnsafePointer(copy)
        self.sourcePath = sourcePath
        self.copyPath = copyPath
    }

    deinit { copy.deallocate() }

    func close() {
        guard let handle else { return }
        self.handle = nil
        dlclose(handle)
        unlink(copyPath)
    }
}
