import AgentOSTesting
import CAgentOS
import Foundation
import Glibc
import KernelCore
import KernelPOSIX
import Testing

/// The loader on real files: one verified private copy and one dlopen handle
/// per content, files read in chunks, and every path that is not a regular
/// file refused by name without being opened for reading.
@Suite struct PluginLoaderTests {
    // MARK: One copy per content

    @Test func sameFileLoadedTwiceSharesOneCopyAndOneHandle() throws {
        let folder = try Folder()
        let source = try folder.plugin("echo")
        let first = try folder.loader.open(path: source)
        let second = try folder.loader.open(path: source)
        #expect(folder.copies().count == 1, "\(folder.copies())")
        let library = try #require(Library(of: first))
        #expect(Library(of: second) == library, "both descriptors come from one mapping")
        #expect(library.path == folder.copiesDirectory + "/" + folder.copies()[0])
        #expect(first.descriptor != second.descriptor, "each image keeps its own descriptor copy")

        first.close()
        #expect(folder.copies().count == 1, "the other image still uses the copy")
        #expect(Library(of: second) == library, "the library stays mapped for the other image")
        #expect(String(cString: try #require(second.descriptor.pointee.name)) == "echo")

        second.close()
        #expect(folder.copies().isEmpty, "the last close removes the copy")
    }

    @Test func sameContentUnderAnotherPathSharesTheCopy() throws {
        let folder = try Folder()
        let first = try folder.loader.open(path: try folder.plugin("echo", as: "a.so"))
        let second = try folder.loader.open(path: try folder.plugin("echo", as: "b.so"))
        defer { first.close(); second.close() }
        #expect(folder.copies().count == 1, "\(folder.copies())")
        #expect(Library(of: first) == Library(of: second))
        #expect(first.sourcePath == folder.path + "/a.so" && second.sourcePath == folder.path + "/b.so")
    }

    @Test func changedContentGetsAFreshCopy() throws {
        let folder = try Folder()
        let source = try folder.plugin("echo", as: "x.so")
        let old = try folder.loader.open(path: source)
        _ = try folder.plugin("counter", as: "x.so")
        let new = try folder.loader.open(path: source)
        #expect(folder.copies().count == 2, "\(folder.copies())")
        #expect(Library(of: old) != Library(of: new))
        #expect(String(cString: try #require(new.descriptor.pointee.name)) == "counter")
        #expect(String(cString: try #require(old.descriptor.pointee.name)) == "echo")
        old.close()
        new.close()
        #expect(folder.copies().isEmpty)
    }

    @Test func reopeningAfterTheLastCloseMakesAFreshCopy() throws {
        let folder = try Folder()
        let source = try folder.plugin("echo")
        try folder.loader.open(path: source).close()
        let again = try folder.loader.open(path: source)
        #expect(folder.copies().count == 1)
        #expect(String(cString: try #require(again.descriptor.pointee.name)) == "echo")
        again.close()
        #expect(folder.copies().isEmpty)
    }

    /// agentos.h promises tool plugins their own statics: their functions get no state.
    @Test func toolPluginGetsAPrivateCopyPerLoad() throws {
        let folder = try Folder()
        let source = try folder.plugin("tooltypes")
        let first = try folder.loader.open(path: source)
        let second = try folder.loader.open(path: source)
        #expect(folder.copies().count == 2, "\(folder.copies())")
        #expect(Library(of: first) != Library(of: second))
        first.close()
        second.close()
        #expect(folder.copies().isEmpty)
    }

    @Test func concurrentLoadsOfOneFileEndWithOneCopy() async throws {
        let folder = try Folder()
        let source = try folder.plugin("echo")
        let loader = folder.loader
        let images = await withTaskGroup(of: PluginImage?.self) { group in
            for _ in 0..<8 {
                group.addTask { await onThread { try? loader.open(path: source) } }
            }
            return await group.reduce(into: [PluginImage]()) { if let image = $1 { $0.append(image) } }
        }
        #expect(images.count == 8)
        #expect(folder.copies().count == 1, "\(folder.copies())")
        #expect(Set(images.compactMap { Library(of: $0)?.base }).count == 1)
        for image in images { image.close() }
        #expect(folder.copies().isEmpty)
    }

    /// More than one read chunk: the copy is the file, byte for byte.
    @Test func fileLargerThanOneChunkIsCopiedWhole() throws {
        let folder = try Folder()
        let padded = try PluginBytes.of("echo") + [UInt8](repeating: 0xA5, count: 3 << 20 | 123)
        let source = folder.path + "/padded.so"
        try Data(padded).write(to: URL(fileURLWithPath: source))
        let image = try folder.loader.open(path: source)
        defer { image.close() }
        let copy = try Data(contentsOf: URL(fileURLWithPath: folder.copiesDirectory + "/" + folder.copies()[0]))
        #expect(copy == Data(padded))
    }

    @Test func truncatedFileIsRefusedOnItsCopyAndTheCopyRemoved() throws {
        let folder = try Folder()
        let echo = try PluginBytes.of("echo")
        let source = folder.path + "/half.so"
        try Data(echo.prefix(echo.count / 2)).write(to: URL(fileURLWithPath: source))
        #expect(try refusal(folder, source) == .truncated)
        #expect(folder.copies().isEmpty)
    }

    // MARK: Descriptors

    @Test func hugeStructSizeIsRefusedAsStructTooLarge() throws {
        let folder = try Folder()
        let error = try #require(try refusalError(folder, try folder.plugin("hugestruct")))
        #expect(error.code == .structTooLarge)
        #expect(error.message.contains("struct_size 2147483647 is larger than any descriptor (at most 65536 bytes)"), "\(error.message)")
        #expect(folder.copies().isEmpty)
    }

    @Test func toolPluginWithoutToolsIsRefusedAsBadDescriptor() throws {
        let folder = try Folder()
        let error = try #require(try refusalError(folder, try folder.plugin("notools")))
        #expect(error.code == .badDescriptor)
        #expect(error.message.contains("a tool plugin (kind AOS_KIND_TOOL) that declares no tools"), "\(error.message)")
        #expect(folder.copies().isEmpty)
    }

    // MARK: Not regular files

    @Test func symlinkToAPluginLoadsItsTarget() throws {
        let folder = try Folder()
        let target = try folder.plugin("echo")
        let link = folder.path + "/link.so"
        #expect(symlink(target, link) == 0)
        let image = try folder.loader.open(path: link)
        defer { image.close() }
        #expect(image.sourcePath == link)
        #expect(String(cString: try #require(image.descriptor.pointee.name)) == "echo")
    }

    @Test func directoryIsRefusedAsNotRegularFile() throws {
        let folder = try Folder()
        let path = folder.path + "/folder.so"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = try #require(try refusalError(folder, path))
        #expect(error.code == .notRegularFile)
        #expect(error.message == "cannot load \(path): not a regular file: it is a directory (give the path of a plugin's .so file)")
    }

    /// Opening a FIFO for reading would wait for a writer: the loader must not open it.
    @Test(.timeLimit(.minutes(1))) func fifoIsRefusedAsNotRegularFileWithoutBlocking() async throws {
        let folder = try Folder()
        let path = folder.path + "/pipe.so"
        #expect(mkfifo(path, 0o600) == 0)
        let loader = folder.loader
        let error = await onThread { () -> KernelError? in
            do throws(KernelError) { _ = try loader.open(path: path); return nil } catch { return error }
        }
        #expect(error?.code == .notRegularFile)
        #expect(error?.message.hasSuffix("not a regular file: it is a FIFO (named pipe) (give the path of a plugin's .so file)") == true, "\(error?.message ?? "nil")")
    }

    @Test func socketIsRefusedAsNotRegularFile() throws {
        let folder = try Folder()
        let path = folder.path + "/socket.so"
        let socket = try UnixSocket(boundTo: path)
        defer { socket.close() }
        let error = try #require(try refusalError(folder, path))
        #expect(error.code == .notRegularFile)
        #expect(error.message.contains("it is a socket"), "\(error.message)")
    }

    @Test func danglingSymlinkIsRefusedAsNotRegularFileNamingItsTarget() throws {
        let folder = try Folder()
        let link = folder.path + "/gone.so"
        #expect(symlink(folder.path + "/absent.so", link) == 0)
        let error = try #require(try refusalError(folder, link))
        #expect(error.code == .notRegularFile)
        #expect(error.message == "cannot load \(link): not a regular file: it is a symlink to \(folder.path)/absent.so, which does not exist")
    }

    @Test func missingFileIsStillFileNotFound() throws {
        let folder = try Folder()
        #expect(try refusal(folder, folder.path + "/absent.so") == .fileNotFound)
    }

    // MARK: Helpers

    private func refusal(_ folder: Folder, _ path: String) throws -> KernelError.Code? {
        try refusalError(folder, path)?.code
    }

    private func refusalError(_ folder: Folder, _ path: String) throws -> KernelError? {
        do {
            let image = try folder.loader.open(path: path)
            image.close()
            return nil
        } catch {
            return error
        }
    }
}

/// The mapping (in /proc/self/maps) that holds a descriptor's `name` string,
/// which lies in the library's read-only data: equal for two images iff they
/// use the same mapping of the same copy.
private struct Library: Equatable {
    let base: UInt
    let path: String

    init?(of image: PluginImage) {
        // Read to the end: /proc files report no size, and a one-shot read stops at a page.
        guard let name = image.descriptor.pointee.name,
              let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return nil }
        let maps = String(decoding: data, as: UTF8.self)
        let address = UInt(bitPattern: name)
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let bounds = fields.first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            guard fields.count >= 6, bounds.count == 2, bounds[0] <= address, address < bounds[1] else { continue }
            base = bounds[0]
            path = fields[5...].joined(separator: " ")
            return
        }
        return nil
    }
}

/// A temporary folder with a loader whose copies go to `copies/` inside it; removed on deinit.
private final class Folder {
    let path: String
    let copiesDirectory: String
    let loader: PluginLoader

    init() throws {
        path = NSTemporaryDirectory() + "agentos-loader-\(UUID().uuidString.prefix(8))"
        copiesDirectory = path + "/copies"
        loader = PluginLoader(copiesDirectory: copiesDirectory)
        try loader.prepare()
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes the built plugin `name` to `file` in this folder (replacing it) and returns its path.
    func plugin(_ name: String, as file: String? = nil) throws -> String {
        let destination = path + "/" + (file ?? name + ".so")
        try Data(try PluginBytes.of(name)).write(to: URL(fileURLWithPath: destination))
        return destination
    }

    /// The private copies, by name.
    func copies() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: copiesDirectory)) ?? []).sorted()
    }
}

/// The bytes of the built plugin `name` (see `pluginPath`).
enum PluginBytes {
    static func of(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: pluginPath(name))))
    }
}

/// A listening-less Unix socket bound to a path, so the path is a socket file.
private struct UnixSocket {
    let descriptor: Int32

    init(boundTo path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    func close() { Glibc.close(descriptor) }
}
