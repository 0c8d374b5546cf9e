import CAgentOS
import Foundation
import KernelCore
import Synchronization

/// Opens plugin files for the kernel: checks the ELF file, copies it to a
/// private path under `$AGENTOS_HOME/plugins` (dlopen returns the handle it
/// already has for a path it has open, so a unique copy is what lets a file be
/// replaced, reloaded, or loaded twice), dlopens the copy and checks the
/// descriptor's handshake before the kernel calls into it.
public struct PluginLoader: PluginLoading {
    /// Where private copies go; emptied when the kernel starts.
    public let copiesDirectory: String
    private let sequence = Sequence()

    public init(copiesDirectory: String) {
        self.copiesDirectory = copiesDirectory
    }

    /// Removes copies a killed kernel left behind and creates the directory.
    public func prepare() throws {
        try? FileManager.default.removeItem(atPath: copiesDirectory)
        try FileManager.default.createDirectory(atPath: copiesDirectory, withIntermediateDirectories: true)
    }

    public func open(path: String) throws(KernelError) -> PluginImage {
        try ELFCheck.validate(path: path)
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let copyPath = "\(copiesDirectory)/\(sequence.next())-\(base).so"
        do {
            try FileManager.default.copyItem(atPath: path, toPath: copyPath)
        } catch {
            throw KernelError(.fileNotFound, "cannot load \(path): cannot copy it to \(copiesDirectory): \(error.localizedDescription)")
        }
        guard let handle = dlopen(copyPath, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            unlink(copyPath)
            throw KernelError(.dlopenFailed, "cannot load \(path): dlopen failed: \(reason.replacingOccurrences(of: copyPath, with: path))")
        }
        guard let symbol = dlsym(handle, AOS_PLUGIN_SYMBOL) else {
            dlclose(handle)
            unlink(copyPath)
            throw KernelError(.noDescriptor, "cannot load \(path): no aos_plugin symbol (define the descriptor with AOS_PLUGIN_EXPORT, see sdk/include/agentos.h)")
        }
        let descriptor = symbol.assumingMemoryBound(to: aos_plugin_descriptor.self)
        do {
            try DescriptorCheck.validate(descriptor, path: path)
        } catch {
            dlclose(handle)
            unlink(copyPath)
            throw error
        }
        return DynamicLibraryImage(handle: handle, descriptor: descriptor, sourcePath: path, copyPath: copyPath)
    }
}

/// Numbers private copies uniquely within a kernel's run.
private final class Sequence: Sendable {
    private let counter = Atomic<UInt64>(0)
    func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }
}
