import CAgentOS
import Foundation
import Glibc
import KernelCore
import Synchronization

/// Opens plugin files for the kernel.
///
/// Reads the file in bounded chunks while hashing it (SHA-256), never whole.
/// Content already open (an agent loaded again, under another name) uses the
/// same verified private copy and dlopen handle; other content is copied to
/// a private path under `$AGENTOS_HOME/plugins` while hashed (dlopen returns
/// the handle it already has for a path it has open, so a unique copy is what
/// lets a file be replaced and reloaded), its ELF headers checked on the copy,
/// the copy dlopened and its descriptor's handshake checked before the kernel
/// calls into it. What is checked is what is loaded, even if the file changes
/// meanwhile; a file whose content changed gets a fresh copy.
///
/// Instances of one file's content share the library's globals (agentos.h
/// tells agents to keep per-instance state behind init's state pointer);
/// tool plugins, whose functions get no state, get a private copy per load.
///
/// Thread-safe; copies of a loader share its open libraries. Blocking: call it
/// off the Swift concurrency pool.
public struct PluginLoader: PluginLoading {
    /// Where private copies go; emptied when the kernel starts.
    public let copiesDirectory: String
    /// The `agentos-host` executable that runs process-mode instances; nil when none was found.
    public let hostExecutable: String?
    /// Where each process-mode host's stdout and stderr go (`NAME.log`, truncated at each start).
    public let hostLogsDirectory: String
    private let sequence = Sequence()
    private let libraries = LibraryCache()

    public init(copiesDirectory: String, hostExecutable: String? = HostExecutable.find(), hostLogsDirectory: String? = nil) {
        self.copiesDirectory = copiesDirectory
        self.hostExecutable = hostExecutable
        self.hostLogsDirectory = hostLogsDirectory ?? URL(fileURLWithPath: copiesDirectory).deletingLastPathComponent().appendingPathComponent("hosts").path
    }

    /// Removes copies a killed kernel left behind and creates the directory.
    public func prepare() throws {
        try? FileManager.default.removeItem(atPath: copiesDirectory)
        try FileManager.default.createDirectory(atPath: copiesDirectory, withIntermediateDirectories: true)
    }

    /// Largest plugin file accepted.
    public static let maxFileBytes = 256 << 20

    public func open(path: String) throws(KernelError) -> PluginImage {
        let source = try PluginSourceFile(path: path, maxBytes: Self.maxFileBytes)
        let library: SharedLibrary
        if let open = libraries.acquire(try source.digest()) {
            library = open
        } else {
            library = libraries.adopt(try openCopy(of: source))
        }
        return DynamicLibraryImage(library: library, cache: libraries, sourcePath: path)
    }

    public func isolated(_ image: PluginImage, name: String, restart: RestartPolicy) throws(KernelError) -> PluginImage {
        guard let library = image as? DynamicLibraryImage else {
            image.close()
            throw KernelError(.internal, "cannot load \(image.sourcePath) in process mode: not a library image")
        }
        guard let hostExecutable else {
            image.close()
            throw KernelError(.fileNotFound, "cannot load \(image.sourcePath) in process mode: \(HostExecutable.missing)")
        }
        try? FileManager.default.createDirectory(atPath: hostLogsDirectory, withIntermediateDirectories: true)
        do {
            return try ProcessImage(
                wrapping: library, hostExecutable: hostExecutable, logPath: "\(hostLogsDirectory)/\(name).log", restart: restart)
        } catch {
            image.close()
            throw error
        }
    }

    /// Copies `source` to a new private path while hashing it, checks the copy's
    /// ELF headers, dlopens it and checks its descriptor. On failure nothing stays behind.
    private func openCopy(of source: PluginSourceFile) throws(KernelError) -> SharedLibrary {
        let path = source.path
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let copyPath = "\(copiesDirectory)/\(sequence.next())-\(base).so"
        let copy = Glibc.open(copyPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o500)
        guard copy >= 0 else {
            throw KernelError(.internal, "cannot load \(path): cannot write its private copy in \(copiesDirectory): \(PluginSourceFile.describe(errno))")
        }
        let digest: ContentHash
        do {
            defer { Glibc.close(copy) }
            let written = try source.copy(to: copy, copyPath: copyPath)
            try ELFCheck.validate(file: copy, size: written.size, path: path)
            digest = written.digest
        } catch {
            unlink(copyPath)
            throw error
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
        return SharedLibrary(digest: digest, copyPath: copyPath, handle: handle, symbol: UnsafeRawPointer(symbol), source: path)
    }
}

/// Numbers private copies uniquely within a kernel's run.
private final class Sequence: Sendable {
    private let counter = Atomic<UInt64>(0)
    func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }
}
