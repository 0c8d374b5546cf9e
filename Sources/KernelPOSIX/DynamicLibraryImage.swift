import CAgentOS
import Foundation
import KernelCore

/// A plugin library opened with dlopen from a private copy of its file.
///
/// `close()` runs dlclose and deletes the copy; the kernel calls it only once
/// no thread can run the library's code.
final class DynamicLibraryImage: PluginImage, @unchecked Sendable {
    let descriptor: UnsafePointer<aos_plugin_descriptor>
    let sourcePath: String
    private let copyPath: String
    private var handle: UnsafeMutableRawPointer?

    init(handle: UnsafeMutableRawPointer, descriptor: UnsafePointer<aos_plugin_descriptor>, sourcePath: String, copyPath: String) {
        self.handle = handle
        self.descriptor = descriptor
        self.sourcePath = sourcePath
        self.copyPath = copyPath
    }

    func close() {
        guard let handle else { return }
        self.handle = nil
        dlclose(handle)
        unlink(copyPath)
    }
}
