import CAgentOS
import Foundation
import KernelCore
import Synchronization

/// Opens plugin files for the kernel: reads the file once, checks its ELF
/// headers, writes those exact bytes to a private path under
/// `$AGENTOS_HOME/plugins` (dlopen returns the handle it already has for a
/// path it has open, so a unique copy is what lets a file be replaced,
/// reloaded, or loaded twice), dlopens the copy and checks the descriptor's
/// handshake before the kernel calls into it. Blocking: call it off the
/// Swift concurrency pool.
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

    /// Largest plugin file accepted.
    public static let maxFileBytes = 256 << 20

    public func open(path: String) throws(KernelError) -> PluginImage {
        let contents = try Self.read(path)
        try ELFCheck.validate(contents, path: path)
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let copyPath = "\(copiesDirectory)/\(sequence.next())-\(base).so"
        guard FileManager.default.createFile(atPath: copyPath, contents: contents, attributes: [.posixPermissions: 0o500]) else {
            throw KernelError(.internal, "cannot load \(path): cannot write its private copy in \(copiesDirectory)")
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
        do {
            try DescriptorCheck.validate(UnsafeRawPointer(symbol), path: path)
        } catch {
            dlclose(handle)
            unlink(copyPath)
            throw error
        }
        return DynamicLibraryImage(handle: handle, symbol: UnsafeRawPointer(symbol), sourcePath: path, copyPath: copyPath)
    }

    /// The whole file, read once: what is checked is what gets copied and loaded,
    /// even if the file changes meanwhile.
    private static func read(_ path: String) throws(KernelError) -> Data {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KernelError(.fileNotFound, "cannot load \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw KernelError(.notELF, "cannot load \(path): not a regular file")
        }
        guard Int(info.st_size) <= maxFileBytes else {
            throw KernelError(.tooBig, "cannot load \(path): \(info.st_size) bytes; plugins may be at most \(maxFileBytes >> 20) MiB")
        }
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoPermission) }
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()  // nil: the file is empty
        } catch {
            throw KernelError(.fileNotFound, "cannot load \(path): cannot read it")
        }
        guard data.count <= maxFileBytes else {
            throw KernelError(.tooBig, "cannot load \(path): plugins may be at most \(maxFileBytes >> 20) MiB")
        }
        return data
    }
}

/// Numbers private copies uniquely within a kernel's run.
private final class Sequence: Sendable {
    private let counter = Atomic<UInt64>(0)
    func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }
}
